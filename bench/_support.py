"""Shared set-up for benchmarks: servers, a throwaway database, payloads."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import server_urls, unique, with_database  # noqa: E402


@contextmanager
def bench_database() -> Iterator[tuple[str, str]]:
    """(redis_url, database_url) with a migrated, loaded database dropped afterwards."""
    from app import migrate_and_load

    with server_urls() as (redis_url, admin_url):
        name = unique("pingan_bench_")

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        url = with_database(admin_url, name)
        asyncio.run(migrate_and_load(url))
        try:
            yield redis_url, url
        finally:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def payloads(count: int, seed: int = 1) -> list[bytes]:
    """Realistic intake documents with unique source ids, from the demo county's area."""
    samples = [
        json.loads(line)
        for line in (ROOT / "tests" / "samples" / "intake-valid.jsonl").read_text().splitlines()
        if line
    ]
    rng = random.Random(seed)
    out = []
    for serial in range(count):
        document = dict(rng.choice(samples))
        document["source_id"] = f"bench-{seed}-{serial}"
        document["location"] = {
            "lon": round(rng.uniform(118.75, 119.15), 6),
            "lat": round(rng.uniform(31.26, 31.45), 6),
        }
        out.append(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    return out
