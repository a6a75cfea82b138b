"""Stream keys, consumer groups and key prefixes, defined once."""

from __future__ import annotations

from dataclasses import dataclass

INGEST_GROUP = "ingest"
POSITIONS_GROUP = "tracks"
CAMERAS_GROUP = "cameras"
CAMERA_HISTORY_GROUP = "camera_history"
PLAN_PROPOSER_GROUP = "plan_proposer"
TERMINALS_GROUP = "terminals"
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
    def positions_dead(self) -> str:
        return self._key("positions:dead")

    @property
    def cameras(self) -> str:
        return self._key("cameras")

    @property
    def cameras_dead(self) -> str:
        return self._key("cameras:dead")

    def heartbeat(self, worker: str) -> str:
        """Key a worker refreshes while it is alive."""
        return self._key(f"heartbeat:{worker}")

    @property
    def heartbeats(self) -> str:
        """Set of the workers that wrote a heartbeat (their keys may have expired since)."""
        return self._key("heartbeats")

    def degraded(self, component: str) -> str:
        """Key present while a component (storage, redis) is unavailable; holds since when."""
        return self._key(f"system:degraded:{component}")

    @property
    def intake_errors(self) -> str:
        """Hash: intake entry id → the last error it caused (for poison reasons)."""
        return self._key("intake:errors")

    @property
    def intake_stored(self) -> str:
        """Stream of wake-up notes: a batch of reports is durable and waits for the former."""
        return self._key("intake:stored")

    @property
    def outbox_lock(self) -> str:
        """Lock so only one worker at a time drains the event outbox."""
        return self._key("lock:outbox")

    def published(self, shard: int) -> str:
        """Bitmap shard: bit n set once event id n is on the events stream."""
        return self._key(f"events:published:{shard}")

    @property
    def units_latest(self) -> str:
        """Hash: unit id → its latest position (JSON)."""
        return self._key("units:latest")

    @property
    def units_sampled(self) -> str:
        """Hash: unit id → epoch ms of its last fix written to the track history."""
        return self._key("units:sampled")

    @property
    def cameras_latest(self) -> str:
        """Hash: camera id → its latest status (JSON)."""
        return self._key("cameras:latest")

    @property
    def camera_sites(self) -> str:
        """Hash: camera id → where it stands (JSON lon/lat/name), used to place its alarms."""
        return self._key("cameras:sites")

    @property
    def terminal_seq(self) -> str:
        """Hash: terminal id → the last message seq accepted from it."""
        return self._key("terminals:seq")

    @property
    def terminal_inbox(self) -> str:
        """Stream of accepted terminal task messages waiting to be applied."""
        return self._key("terminals:inbox")

    @property
    def terminal_dead(self) -> str:
        """Terminal task messages the case service refused, with the reason."""
        return self._key("terminals:dead")

    @property
    def screen_grants(self) -> str:
        """Hash: SHA-256 of a screen token → the user and the widest scope it may watch."""
        return self._key("screens:grants")

    @property
    def cameras_seen(self) -> str:
        """Sorted set: camera id → epoch ms last heard (a camera believed offline leaves it)."""
        return self._key("cameras:seen")

    @property
    def camera_bridge_dead(self) -> str:
        """Video-platform messages the bridge could not turn into entries, with the reason."""
        return self._key("cameras:bridge:dead")

    @property
    def camera_bridge_units(self) -> str:
        """Hash: GB/T 28181 id of a mobile camera → the unit it rides with (GPS → positions)."""
        return self._key("cameras:bridge:units")
