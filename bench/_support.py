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


def payloads(count: int, seed: int = 1, spots: int = 0) -> list[bytes]:
    """Realistic intake documents with unique source ids, from the demo county's area.

    With `spots`, every report is one of that many incidents (within ~30 m of it), as when a
    typhoon floods a few underpasses and everyone calls about them.
    """
    samples = [
        json.loads(line)
        for line in (ROOT / "tests" / "samples" / "intake-valid.jsonl").read_text().splitlines()
        if line
    ]
    rng = random.Random(seed)
    places = [(rng.uniform(118.80, 119.10), rng.uniform(31.28, 31.42)) for _ in range(spots)]
    out = []
    for serial in range(count):
        document = dict(rng.choice(samples))
        document["source_id"] = f"bench-{seed}-{serial}"
        if places:
            lon, lat = rng.choice(places)
            document["category"] = "emergency"  # 500 m / 2 h: every call joins its incident
            document["location"] = {
                "lon": round(lon + rng.uniform(-3e-4, 3e-4), 6),
                "lat": round(lat + rng.uniform(-3e-4, 3e-4), 6),
            }
        else:
            document["location"] = {
                "lon": round(rng.uniform(118.75, 119.15), 6),
                "lat": round(rng.uniform(31.26, 31.45), 6),
            }
        out.append(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    return out
