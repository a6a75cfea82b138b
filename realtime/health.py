"""Is the stack ready? Redis and PostgreSQL answer, an ingest worker and a case former live."""

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
        beats = await read_heartbeats(redis, names)
        # Counted by what each process does: `make run` starts one intake worker and one
        # former process, `app.py worker` alone is both.
        details["ingest_workers"] = sum(1 for beat in beats if "ingest" in beat.roles)
        details["case_formers"] = sum(1 for beat in beats if "former" in beat.roles)
        details["degraded"] = [
            {"component": s.component, "since": s.since.isoformat(), "reason": s.reason}
            for s in await current_degraded(redis, names)
        ]
    except Exception as exc:
        details["ingest_workers"] = details["case_formers"] = f"unknown: {exc!r}"
    ready = (
        details["redis"] is True
        and details["postgres"] is True
        and all(
            isinstance(details[part], int) and details[part] > 0
            for part in ("ingest_workers", "case_formers")
        )
    )
    return ready, details
