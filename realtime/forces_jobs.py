"""Timed forces jobs: duty rosters applied, and patrols watched from the sampled tracks.

The patrol watch reads each patrolling unit's last `window` of track (longer than the
standstill limit) every tick and keeps only what happened after its previous tick, so a
check-in or an alarm is recorded once however the windows overlap; the store's keys catch
what a restart recomputes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from incidents.patrols import STANDSTILL_LIMIT, Fix
from incidents.store import unit_store
from incidents.store.service import CaseService
from incidents.store.tracks import track_of
from realtime.outages import run_until_stopped

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 2 * STANDSTILL_LIMIT
# Every worker runs the jobs; this session lock lets one of them work at a time.
_JOB_LOCK = 320_118_009


class PatrolWatch:
    """Turns the sampled tracks of units on patrol into check-ins and alarms, once each."""

    def __init__(
        self, pool: asyncpg.Pool, service: CaseService, window: timedelta = DEFAULT_WINDOW
    ) -> None:
        if window <= STANDSTILL_LIMIT:
            raise ValueError("the window must be longer than the standstill limit")
        self._pool = pool
        self._service = service
        self._window = window
        self._last_tick: dict[str, datetime] = {}

    async def tick(self, now: datetime) -> int:
        """Watch every patrolling unit up to `now`; return the events published."""
        async with self._pool.acquire() as conn:
            routes = {r.township_code: r for r in await unit_store.load_routes(conn)}
            patrols = await unit_store.patrolling_units(conn)
        published = 0
        since = now - self._window
        for unit_id, township in patrols:
            route = routes.get(township)
            if route is None:
                continue
            async with self._pool.acquire() as conn:
                track = await track_of(conn, unit_id, since, now)
            fixes = [Fix(p.lon, p.lat, p.at) for p in track]
            after = self._last_tick.get(unit_id, since)
            result = await self._service.record_patrol(route, unit_id, fixes, after=after)
            published += result.published
            self._last_tick[unit_id] = now
        return published


async def run_forces_jobs(
    pool: asyncpg.Pool,
    service: CaseService,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
    every_seconds: float = 60.0,
) -> None:
    """Apply rosters and watch patrols on a timer until `stop`; a failing tick is retried."""
    watch = PatrolWatch(pool, service)

    async def tick() -> None:
        async with pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _JOB_LOCK):
                return
            try:
                now = clock()
                rostered = await service.apply_rosters(now)
                patrol_events = await watch.tick(now)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _JOB_LOCK)
        if rostered or patrol_events:
            log.info("forces: %d roster changes, %d patrol events", rostered, patrol_events)

    await run_until_stopped("forces jobs", tick, stop, every_seconds=every_seconds)
