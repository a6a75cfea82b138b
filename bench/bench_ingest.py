"""Ingest throughput (XADD → committed → published → acked) against raw redis-py, one run.

Usage: .venv/bin/python bench/bench_ingest.py [--entries 200000] [--batch 500] [--consumers 1]
                                             [--processes 0] [--spots 0]
Uses REDIS_URL / DATABASE_URL when set, embedded servers otherwise. With --consumers, the
workers are coroutines in this process and it prints where their time went: the incidents
store (record_reports), the Redis MULTI (publish + dead letters + ack), and the rest (read,
validate, locate). With --processes N, N real worker processes (as `app.py worker` runs
them) consume instead; they are started and warm before the clock starts.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

import redis.asyncio as aioredis
from _realtime import WORKER, processes

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database, payloads
from geo.pack import load_demo_pack
from incidents.db import create_pool
from realtime.ingest import IngestSettings, IngestStats, IngestWorker
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
    redis: aioredis.Redis, database_url: str, docs: list[bytes], batch: int, consumers: int
) -> tuple[float, int, IngestStats]:
    """The product: XADD, then workers validate, locate, commit, publish, ack."""
    names = StreamNames(unique("bench:") + ":")
    pool = await create_pool(database_url, min_size=consumers, max_size=consumers + 1)
    locate = locate_in(load_demo_pack())
    workers = [
        IngestWorker(
            redis,
            pool,
            locate,
            names=names,
            consumer=f"bench-{n}",
            settings=IngestSettings(batch_size=batch, block_ms=10),
        )
        for n in range(consumers)
    ]
    await workers[0].ensure_group()

    def handled() -> int:
        return sum(w.stats.accepted + w.stats.rejected for w in workers)

    async def consume(worker: IngestWorker) -> None:
        while handled() < len(docs):
            await worker.process_once()

    start = time.perf_counter()
    await xadd_all(redis, names.intake, docs)
    await asyncio.gather(*(consume(w) for w in workers))
    elapsed = time.perf_counter() - start
    published = await redis.xlen(names.events)
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    await redis.delete(*keys)
    await pool.close()
    total = IngestStats(
        store_seconds=sum(w.stats.store_seconds for w in workers),
        publish_seconds=sum(w.stats.publish_seconds for w in workers),
    )
    return len(docs) / elapsed, published, total


async def poll(done: Callable[[], Awaitable[bool]], every: float) -> None:
    """Return once `done()` is true, asking every `every` seconds (state lives in Redis)."""
    while True:
        if await done():
            return
        await asyncio.sleep(every)


async def process_rate(
    redis: aioredis.Redis,
    redis_url: str,
    database_url: str,
    docs: list[bytes],
    workers: int,
    batch: int,
) -> tuple[float, int]:
    """Real worker processes: start them, wait for their heartbeats, then XADD and time."""
    names = StreamNames(unique("bench:") + ":")
    env = {"PINGAN_INGEST_BATCH_SIZE": str(batch), "PINGAN_INGEST_BLOCK_MS": "10"}
    with ExitStack() as stack:
        stack.enter_context(processes([WORKER] * workers, redis_url, database_url, names, **env))

        async def all_beating() -> bool:
            return len([k async for k in redis.scan_iter(match=names.heartbeat("*"))]) >= workers

        async def all_published() -> bool:
            return int(await redis.xlen(names.events)) >= len(docs)

        await poll(all_beating, 0.1)
        start = time.perf_counter()
        await xadd_all(redis, names.intake, docs)
        await poll(all_published, 0.01)
        elapsed = time.perf_counter() - start
    published = await redis.xlen(names.events)
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    await redis.delete(*keys)
    return len(docs) / elapsed, published


async def measure(
    redis_url: str,
    database_url: str,
    docs: list[bytes],
    batch: int,
    consumers: int,
    worker_processes: int,
) -> tuple[float, float, int, IngestStats | None]:
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    try:
        raw = await raw_rate(redis, docs, batch)
        if worker_processes:
            ours, published = await process_rate(
                redis, redis_url, database_url, docs, worker_processes, batch
            )
            return raw, ours, published, None
        ours, published, stats = await ingest_rate(redis, database_url, docs, batch, consumers)
    finally:
        await redis.aclose()
    return raw, ours, published, stats


def main(entries: int, batch: int, consumers: int, worker_processes: int, spots: int) -> None:
    docs = payloads(entries, spots=spots)
    with bench_database() as (redis_url, database_url):
        raw, ours, published, stats = asyncio.run(
            measure(redis_url, database_url, docs, batch, consumers, worker_processes)
        )
    if stats is None:
        print(
            f"entries                         {entries} ({worker_processes} worker processes,"
            f" batch {batch})"
        )
        print(f"raw XADD→XREADGROUP→XACK        {raw:,.0f} entries/s")
        print(f"ingest XADD→commit→publish→ack  {ours:,.0f} entries/s ({published} events)")
        print(f"ratio ingest / raw              {ours / raw:.3f}")
        return
    elapsed = entries / ours
    busy = elapsed * consumers
    rest = busy - stats.store_seconds - stats.publish_seconds
    print(f"entries                         {entries} ({consumers} consumer(s), batch {batch})")
    print(f"raw XADD→XREADGROUP→XACK        {raw:,.0f} entries/s")
    print(f"ingest XADD→commit→publish→ack  {ours:,.0f} entries/s ({published} events)")
    print(f"ratio ingest / raw              {ours / raw:.3f}")
    print(f"time in incidents store         {stats.store_seconds:.1f} s of {busy:.1f} s")
    print(f"time in Redis MULTI (pub+ack)   {stats.publish_seconds:.1f} s")
    print(f"time elsewhere (XADD, read, validate, locate) {rest:.1f} s")
    print(f"store alone would allow         {entries / stats.store_seconds * consumers:,.0f}/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--spots", type=int, default=0, help="all reports about N incidents")
    args = parser.parse_args()
    main(args.entries, args.batch, args.consumers, args.processes, args.spots)
