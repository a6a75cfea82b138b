"""kill -9 ingest workers at random points while reports flow: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import random
import time

import asyncpg
import pytest
import redis.asyncio as aioredis

from realtime.streams import StreamNames
from tests.fault.processes import (
    books,
    feed,
    kill_hard,
    opened_source_ids,
    pending,
    report_documents,
    settle,
    start_worker,
    stop_gently,
    worker_env,
)

pytestmark = pytest.mark.integration

REPORTS = 10_000
KILLS = 20
SLOTS = 3


async def wait_alive(redis: aioredis.Redis, names: StreamNames, consumer: str) -> None:
    """Until the worker has written its first heartbeat (it is consuming)."""
    deadline = time.monotonic() + 60
    while not await redis.exists(names.heartbeat(consumer)):
        assert time.monotonic() < deadline, f"{consumer} never started"
        await asyncio.sleep(0.05)


async def until_holding_work(redis: aioredis.Redis, names: StreamNames, consumer: str) -> None:
    """Until the worker has read entries it has not acknowledged yet (or 2 s passed)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if await pending(redis, names, consumer):
            return
        await asyncio.sleep(0.002)


async def test_twenty_kill_nines_mid_flow_every_report_exactly_once(
    servers: tuple[str, str],
    database_url: str,
    pool: asyncpg.Pool,
    names: StreamNames,
    redis: aioredis.Redis,
) -> None:
    """10,000 reports, 20 kill -9: one case and one case.opened each, none pending, no dead."""
    rng = random.Random(20261126)
    # A report can be in the hands of every worker that gets killed: allow more deliveries
    # than kills so only real poison could ever be dead-lettered.
    env = worker_env(servers[0], database_url, names, PINGAN_INGEST_MAX_DELIVERIES=str(KILLS + 5))
    generation = 0
    slots = {}
    for slot in range(SLOTS):
        slots[slot] = (f"w{slot}-0", start_worker(env, f"w{slot}-0"))
    feeder = asyncio.create_task(
        # Slow and steady enough that the flow outlasts the 20 kills and their restarts (a
        # restarted worker takes ~2 s to load the county), so every kill meets work.
        feed(redis, names.intake, report_documents(REPORTS, "kill"), per_second=150, chunk=30)
    )
    kills_with_work = 0
    try:
        for _ in range(KILLS):
            slot = rng.randrange(SLOTS)
            consumer, process = slots[slot]
            await wait_alive(redis, names, consumer)
            await asyncio.sleep(rng.uniform(0.05, 0.5))
            # A random point inside a batch: wait until the worker holds entries, then a random
            # moment more; if the batch ended meanwhile (batches take tens of ms), try the next.
            for _ in range(5):
                await until_holding_work(redis, names, consumer)
                await asyncio.sleep(rng.uniform(0.0, 0.01))
                if await pending(redis, names, consumer):
                    break
            kill_hard(process)
            if await pending(redis, names, consumer):
                kills_with_work += 1
            generation += 1
            replacement = f"w{slot}-{generation}"
            slots[slot] = (replacement, start_worker(env, replacement))
        await feeder
        await settle(redis, pool, names, REPORTS, within=90)
        assert all(process.poll() is None for _, process in slots.values())
    finally:
        feeder.cancel()
        for _, process in slots.values():
            stop_gently(process)

    cases, reports, outbox = await books(pool)
    assert (reports, outbox) == (REPORTS, 0)
    assert 0 < cases <= reports  # repeats of one incident merge into one case
    counts = await opened_source_ids(redis, names)
    assert set(counts) == {f"kill-{n}" for n in range(REPORTS)}
    assert max(counts.values()) == 1, "an event was published twice"
    assert await redis.xlen(names.intake_dead) == 0
    assert await pending(redis, names) == 0
    # The point of the test: most kills must have caught a worker holding unacknowledged work.
    assert kills_with_work >= KILLS // 2, f"only {kills_with_work} kills hit a batch in flight"
