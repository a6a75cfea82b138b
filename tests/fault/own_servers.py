"""Redis and PostgreSQL servers a test starts (and crashes) itself, on their own ports.

The shared servers on 6379/5432 are never touched: these live in a temporary folder and
are removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.stack import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class OwnRedis:
    """A redis-server with append-only persistence (fsync on every write)."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart from its append-only file) and wait until it answers."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.BusyLoadingError:
                pass
            except redis.exceptions.ConnectionError:
                pass
            assert time.monotonic() < deadline, "own redis did not start"
            time.sleep(0.05)
        client.close()

    def crash(self) -> None:
        """kill -9 the server."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    """A started Redis of this test's own."""
    folder = Path(tempfile.mkdtemp(prefix="pingan-redis-"))
    server = OwnRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.crash()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class OwnPostgres:
    """A throwaway PostgreSQL 15 cluster run as the `postgres` OS user."""

    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        """Create the cluster (trust authentication, no fsync: a test, not a bank)."""
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.folder / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        )

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def crash(self) -> None:
        """Stop at once, as a crash would (recovery runs on the next start)."""
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"
        )


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A started PostgreSQL of this test's own."""
    folder = Path(tempfile.mkdtemp(prefix="pingan-pg-"))
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    server = OwnPostgres(folder)
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.crash()
        shutil.rmtree(folder, ignore_errors=True)
