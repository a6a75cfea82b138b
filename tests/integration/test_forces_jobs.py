"""The timed forces jobs on real PostgreSQL: patrols watched from sampled tracks, once each."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from geo.pack import load_demo_pack
from incidents.store import unit_store
from incidents.store.demo_fleet import load_demo_units
from incidents.store.service import CaseService
from incidents.store.tracks import TrackPoint, record_track_points
from incidents.units import UnitStatus
from realtime.forces_jobs import PatrolWatch, run_forces_jobs
from tests.integration.test_ingest import FIXED_NOW
from tests.integration.test_ingest_recovery import wait_until

pytestmark = pytest.mark.integration

T0 = FIXED_NOW
CAR = "patrol-01-1"


async def test_overlapping_windows_record_each_check_in_and_alarm_once(pool: asyncpg.Pool) -> None:
    """A car parked at a check-in point: one check-in at once, one alarm after 15 minutes, and
    nothing again however often the watch looks; a unit on a task is not watched."""
    async with pool.acquire() as conn:
        await load_demo_units(conn, load_demo_pack(), at=T0 - timedelta(hours=1))
        [route] = await unit_store.load_routes(conn, "320118001000")
        point = route.points[0]
        track = [
            TrackPoint(CAR, T0 + timedelta(seconds=30 * n), point.lon, point.lat, 0.0, None)
            for n in range(50)  # 25 minutes at the point
        ]
        await record_track_points(conn, track)
    service = CaseService(pool, None)
    watch = PatrolWatch(pool, service)
    assert await watch.tick(T0 + timedelta(minutes=10)) == 1  # the check-in
    assert await watch.tick(T0 + timedelta(minutes=26)) == 1  # the standstill alarm
    assert await watch.tick(T0 + timedelta(minutes=27)) == 0
    async with pool.acquire() as conn:
        check_ins = await conn.fetch("SELECT point_id, at FROM patrol_check_ins")
        alarms = await conn.fetch("SELECT kind, since FROM patrol_alarms")
    assert [(r["point_id"], r["at"]) for r in check_ins] == [(point.point_id, T0)]
    assert [(r["kind"], r["since"]) for r in alarms] == [("standing_still", T0)]
    await service.report_unit_status(CAR, UnitStatus.BUSY, now=T0 + timedelta(minutes=27))
    async with pool.acquire() as conn:
        assert CAR not in {u for u, _ in await unit_store.patrolling_units(conn)}


def test_the_window_must_outlast_the_standstill_limit() -> None:
    """A window too short could never see a stop long enough to alarm."""
    with pytest.raises(ValueError, match="window"):
        PatrolWatch(None, None, timedelta(minutes=10))  # type: ignore[arg-type]


async def test_the_timed_jobs_apply_rosters_and_stop_when_asked(pool: asyncpg.Pool) -> None:
    """Run as the worker runs it: at 21:30 China time a day-shift mediator goes off duty."""
    async with pool.acquire() as conn:
        await load_demo_units(conn, load_demo_pack(), at=T0 - timedelta(hours=1))
    service = CaseService(pool, None)
    stop = asyncio.Event()
    job = asyncio.create_task(run_forces_jobs(pool, service, stop, lambda: T0, every_seconds=0.05))

    async def off_duty() -> bool:
        return (await service.unit("med-01-1")).status is UnitStatus.OFF_DUTY

    try:
        await wait_until(off_duty, within=20)
    finally:
        stop.set()
        await asyncio.wait_for(job, 10)
    async with pool.acquire() as conn:
        changes = await conn.fetchval(
            "SELECT count(*) FROM unit_status_history WHERE unit_id = 'med-01-1'"
        )
    assert changes == 1  # ticks after the first find nothing more to do
