"""Stream keys, consumer groups and key prefixes, defined once."""

from __future__ import annotations

from dataclasses import dataclass

INGEST_GROUP = "ingest"
DATA_FIELD = b"data"


@dataclass(frozen=True, slots=True)
class StreamNames:
    """Redis keys for one deployment; the prefix isolates deployments (and test runs)."""

    prefix: str = ""

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def intake(self) -> str:
        return self._key("intake")

    @property
    def intake_dead(self) -> str:
        return self._key("intake:dead")

    @property
    def events(self) -> str:
        return self._key("events")

    @property
    def positions(self) -> str:
        return self._key("positions")

    @property
    def cameras(self) -> str:
        return self._key("cameras")

    def heartbeat(self, worker: str) -> str:
        """Key a worker refreshes while it is alive."""
        return self._key(f"heartbeat:{worker}")
