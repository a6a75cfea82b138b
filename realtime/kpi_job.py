"""The KPI job (each wall's figures as a `kpi.snapshot` event every 30 s), and a notice port.

Walls never poll: the gateway fans these events out like any other, routed by
`township_code` (the county's own code for the county's figures), so a township's wall sees
its own figures and the county's wall sees the county's (and, unused, each township's).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import asyncpg
import redis.asyncio as aioredis

from incidents.kpis import kpi_event
from incidents.store.kpi_queries import jurisdiction_kpis, wall_scopes
from realtime.outages import run_until_stopped
from realtime.streams import StreamNames

log = logging.getLogger(__name__)

# One worker computes the figures at a time (every worker runs the job).
_JOB_LOCK = 320_118_014


async def publish_kpis(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    now: datetime,
    scopes: Sequence[str] | None = None,
    maxlen: int = 1_000_000,
) -> int:
    """Compute and publish every wall's figures at `now`; return how many were published."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _JOB_LOCK):
            return 0
        try:
            wanted = list(scopes) if scopes is not None else await wall_scopes(conn)
            events = [kpi_event(await jurisdiction_kpis(conn, s, now), now) for s in wanted]
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _JOB_LOCK)
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(names.events, {"data": event}, maxlen=maxlen, approximate=True)
        await pipe.execute()
    return len(events)


def event_publisher(
    redis: aioredis.Redis, names: StreamNames, maxlen: int = 1_000_000
) -> Callable[[bytes], Awaitable[None]]:
    """A port that puts one ready event on the events stream (for the dashboard's notices)."""

    async def publish(event: bytes) -> None:
        await redis.xadd(names.events, {"data": event}, maxlen=maxlen, approximate=True)

    return publish


async def run_kpi_job(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
    every_seconds: float = 30.0,
) -> None:
    """Publish every wall's figures on a timer until `stop`; a failing tick is retried."""

    async def tick() -> None:
        await publish_kpis(redis, pool, names, clock())

    await run_until_stopped("kpi job", tick, stop, every_seconds=every_seconds)
