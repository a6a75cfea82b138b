"""Ingest throughput (XADD → committed → published → acked) against raw redis-py, one run.

Usage: .venv/bin/python bench/bench_ingest.py [--entries 50000] [--batch 500]
Uses REDIS_URL / DATABASE_URL when set, embedded servers otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg
import redis.asyncio as aioredis

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database, payloads
from geo.pack import load_demo_pack
from realtime.ingest import IngestSettings, IngestWorker
from realtime.placement import locate_in
from realtime.streams import StreamNames
from tests.services import unique


async def xadd_all(redis: aioredis.Redis, stream: str, docs: list[bytes]) -> None:
    for start in range(0, len(docs), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for doc in docs[start : start + 1000]:
                pipe.xadd(stream, {"data": doc})
            await pipe.execute()


async def raw_rate(redis: aioredis.Redis, docs: list[bytes], batch: int) -> float:
    """The ceiling: XADD, XREADGROUP and XACK with nothing in between."""
    stream = unique("bench:raw:")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    start = time.perf_counter()
    await xadd_all(redis, stream, docs)
    done = 0
    while done < len(docs):
        response = await redis.xreadgroup("g", "c", {stream: ">"}, count=batch)
        entries = response[0][1]
        await redis.xack(stream, "g", *(entry_id for entry_id, _ in entries))
        done += len(entries)
    elapsed = time.perf_counter() - start
    await redis.delete(stream)
    return len(docs) / elapsed


async def ingest_rate(
    redis: aioredis.Redis, database_url: str, docs: list[bytes], batch: int
) -> tuple[float, int]:
    """The product: XADD, then the worker validates, locates, commits, publishes, acks."""
    names = StreamNames(unique("bench:") + ":")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    worker = IngestWorker(
        redis,
        pool,
        locate_in(load_demo_pack()),
        names=names,
        consumer="bench",
        settings=IngestSettings(batch_size=batch, block_ms=10),
    )
    await worker.ensure_group()
    start = time.perf_counter()
    await xadd_all(redis, names.intake, docs)
    while worker.stats.accepted + worker.stats.rejected < len(docs):
        await worker.process_once()
    elapsed = time.perf_counter() - start
    published = await redis.xlen(names.events)
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    await redis.delete(*keys)
    await pool.close()
    return len(docs) / elapsed, published


async def measure(
    redis_url: str, database_url: str, docs: list[bytes], batch: int
) -> tuple[float, float, int]:
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    try:
        raw = await raw_rate(redis, docs, batch)
        ours, published = await ingest_rate(redis, database_url, docs, batch)
    finally:
        await redis.aclose()
    return raw, ours, published


def main(entries: int, batch: int) -> None:
    docs = payloads(entries)
    with bench_database() as (redis_url, database_url):
        raw, ours, published = asyncio.run(measure(redis_url, database_url, docs, batch))
    print(f"entries                         {entries}")
    print(f"raw XADD→XREADGROUP→XACK        {raw:,.0f} entries/s")
    print(f"ingest XADD→commit→publish→ack  {ours:,.0f} entries/s ({published} events)")
    print(f"ratio ingest / raw              {ours / raw:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    main(args.entries, args.batch)
