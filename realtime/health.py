"""Is the stack ready? Redis answers, PostgreSQL answers, an ingest worker is alive."""

from __future__ import annotations

from typing import Any

import asyncpg
import redis.asyncio as aioredis

from realtime.degraded import current_degraded
from realtime.heartbeat import read_heartbeats
from realtime.streams import StreamNames


async def stack_health(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> tuple[bool, dict[str, Any]]:
    """Check each part; return (ready, details) without raising."""
    details: dict[str, Any] = {}
    try:
        details["redis"] = bool(await redis.ping())
    except Exception as exc:
        details["redis"] = f"down: {exc!r}"
    try:
        async with pool.acquire() as conn:
            details["postgres"] = await conn.fetchval("SELECT 1") == 1
    except Exception as exc:
        details["postgres"] = f"down: {exc!r}"
    try:
        workers = await read_heartbeats(redis, names)
        details["ingest_workers"] = len(workers)
        details["degraded"] = [
            {"component": s.component, "since": s.since.isoformat(), "reason": s.reason}
            for s in await current_degraded(redis, names)
        ]
    except Exception as exc:
        details["ingest_workers"] = f"unknown: {exc!r}"
    ready = (
        details["redis"] is True
        and details["postgres"] is True
        and isinstance(details["ingest_workers"], int)
        and details["ingest_workers"] > 0
    )
    return ready, details
