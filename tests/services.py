"""Real Redis and PostgreSQL for tests: the servers in the environment, else embedded ones."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from realtime.embedded import EmbeddedServers

ROOT = Path(__file__).resolve().parent.parent


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def unique(prefix: str) -> str:
    """A name no other test run uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@contextmanager
def server_urls() -> Iterator[tuple[str, str]]:
    """(REDIS_URL, DATABASE_URL): from the environment, else embedded servers for this run."""
    redis_url = os.environ.get("REDIS_URL")
    database_url = os.environ.get("DATABASE_URL")
    embedded: EmbeddedServers | None = None
    if not redis_url or not database_url:
        # pgserver runs PostgreSQL as its own OS user when we are root: keep the data where
        # that user can reach it (pytest's private tmp folders are mode 0700).
        embedded = EmbeddedServers(ROOT / "data" / unique("test-"))
        redis_url = redis_url or embedded.start_redis()
        database_url = database_url or embedded.start_postgres()
    try:
        yield redis_url, database_url
    finally:
        if embedded is not None:
            embedded.stop()
            _remove(embedded.data_dir)


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
