"""Ingest throughput against raw redis-py in the same run, and the case formation behind it.

Usage: .venv/bin/python bench/bench_ingest.py [--entries 200000] [--batch 500] [--consumers 1]
                                             [--processes 0] [--spots 0]
Uses REDIS_URL / DATABASE_URL when set, embedded servers otherwise. Two figures, both from
the first XADD: ingest (validated, located, durable in PostgreSQL, acknowledged) and cases
(every report formed into a case and its event published), with a case former running in a
process of its own, as `app.py run` runs it. With --consumers, the ingest workers are
coroutines in this process and it prints how long batches spent in the COPY and in the
Redis MULTI (dead letters + ack). With --processes N, N real ingest processes (as
`app.py worker --no-former`) consume instead; every process is started and warm before the
clock starts.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from _realtime import FORMER, INTAKE_WORKER, processes

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database, payloads
from geo.pack import load_demo_pack
from incidents.store.pool import create_pool
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


@dataclass(frozen=True, slots=True)
class Rates:
    """Reports per second from the first XADD: all acknowledged, and all formed into cases."""

    ingest: float
    cases: float
    events: int


async def _until_formed(redis: aioredis.Redis, names: StreamNames, count: int) -> None:
    async def formed() -> bool:
        return int(await redis.xlen(names.events)) >= count

    await poll(formed, 0.01)


async def _former_ready(redis: aioredis.Redis, names: StreamNames) -> None:
    async def beating() -> bool:
        return bool([k async for k in redis.scan_iter(match=names.heartbeat("*"))])

    await poll(beating, 0.1)


async def ingest_rate(
    redis: aioredis.Redis,
    redis_url: str,
    database_url: str,
    docs: list[bytes],
    batch: int,
    consumers: int,
) -> tuple[Rates, IngestStats]:
    """The product: XADD, then workers validate, locate, store, ack; a former forms cases."""
    names = StreamNames(unique("bench:") + ":")
    with processes([FORMER], redis_url, database_url, names):
        await _former_ready(redis, names)
        return await _ingest_in_process(redis, names, database_url, docs, batch, consumers)


async def _ingest_in_process(
    redis: aioredis.Redis,
    names: StreamNames,
    database_url: str,
    docs: list[bytes],
    batch: int,
    consumers: int,
) -> tuple[Rates, IngestStats]:
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

    async def consume_all() -> None:
        # As in production: each worker's run loop (it stores batches while checking the
        # next), stopped once every entry is handled; stopping waits for the last acks.
        stop = asyncio.Event()
        running = [asyncio.create_task(w.run(stop)) for w in workers]
        while handled() < len(docs):  # noqa: ASYNC110 - counters, not an event, say when
            await asyncio.sleep(0.001)
        stop.set()
        await asyncio.gather(*running)

    start = time.perf_counter()
    await xadd_all(redis, names.intake, docs)
    await consume_all()
    ingested = time.perf_counter() - start
    await _until_formed(redis, names, len(docs))
    formed = time.perf_counter() - start
    published = int(await redis.xlen(names.events))
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    await redis.delete(*keys)
    await pool.close()
    total = IngestStats(
        store_seconds=sum(w.stats.store_seconds for w in workers),
        publish_seconds=sum(w.stats.publish_seconds for w in workers),
    )
    return Rates(len(docs) / ingested, len(docs) / formed, published), total


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
) -> Rates:
    """Real processes: start them, wait for their heartbeats, then XADD and time."""
    names = StreamNames(unique("bench:") + ":")
    env = {"PINGAN_INGEST_BATCH_SIZE": str(batch), "PINGAN_INGEST_BLOCK_MS": "10"}
    argvs = [INTAKE_WORKER] * workers + [FORMER]
    with ExitStack() as stack:
        stack.enter_context(processes(argvs, redis_url, database_url, names, **env))

        async def all_beating() -> bool:
            beats = [k async for k in redis.scan_iter(match=names.heartbeat("*"))]
            return len(beats) >= len(argvs)

        async def all_acknowledged() -> bool:
            groups: Any = await redis.xinfo_groups(names.intake)
            group = groups[0]
            return int(group["entries-read"] or 0) >= len(docs) and int(group["pending"]) == 0

        await poll(all_beating, 0.1)
        start = time.perf_counter()
        await xadd_all(redis, names.intake, docs)
        await poll(all_acknowledged, 0.01)
        ingested = time.perf_counter() - start
        await _until_formed(redis, names, len(docs))
        formed = time.perf_counter() - start
    published = int(await redis.xlen(names.events))
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    await redis.delete(*keys)
    return Rates(len(docs) / ingested, len(docs) / formed, published)


async def measure(
    redis_url: str,
    database_url: str,
    docs: list[bytes],
    batch: int,
    consumers: int,
    worker_processes: int,
) -> tuple[float, Rates, IngestStats | None]:
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    try:
        raw = await raw_rate(redis, docs, batch)
        if worker_processes:
            rates = await process_rate(
                redis, redis_url, database_url, docs, worker_processes, batch
            )
            return raw, rates, None
        rates, stats = await ingest_rate(redis, redis_url, database_url, docs, batch, consumers)
    finally:
        await redis.aclose()
    return raw, rates, stats


def main(entries: int, batch: int, consumers: int, worker_processes: int, spots: int) -> None:
    docs = payloads(entries, spots=spots)
    with bench_database() as (redis_url, database_url):
        raw, rates, stats = asyncio.run(
            measure(redis_url, database_url, docs, batch, consumers, worker_processes)
        )
    who = f"{worker_processes} ingest processes" if stats is None else f"{consumers} consumer(s)"
    print(f"entries                          {entries} ({who} + 1 former process, batch {batch})")
    print(f"raw XADD→XREADGROUP→XACK         {raw:,.0f} entries/s")
    print(f"ingest XADD→durable→ack          {rates.ingest:,.0f} entries/s")
    print(f"ratio ingest / raw               {rates.ingest / raw:.3f}")
    print(f"cases XADD→formed→published      {rates.cases:,.0f} reports/s ({rates.events} events)")
    if stats is None:
        return
    wall = entries / rates.ingest
    # Batches overlap (one is stored while the next is read), so these add up to more than
    # the wall time: each says how long some batch was in that step.
    print(f"ingest wall time                 {wall:.1f} s")
    print(f"batches in the COPY (summed)     {stats.store_seconds:.1f} s")
    print(f"batches in the MULTI (summed)    {stats.publish_seconds:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--spots", type=int, default=0, help="all reports about N incidents")
    args = parser.parse_args()
    main(args.entries, args.batch, args.consumers, args.processes, args.spots)
