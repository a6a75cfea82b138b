"""Positions and cameras streams on real Redis and PostgreSQL: latest state, history, alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from incidents.store.tracks import track_of
from realtime.cameras import CamerasConsumer, CameraSettings, latest_cameras
from realtime.positions import PositionsConsumer, PositionSettings, store_tracks_in
from realtime.streams import StreamNames
from tests.integration.test_ingest import make_worker

pytestmark = pytest.mark.integration

# Camera statuses and positions must be near the consumers' clock to be believed.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
CHUNXI = "320118001000"


def camera(
    camera_id: str, status: str, second: float, alarm: dict[str, Any] | None = None
) -> bytes:
    """One camera message."""
    document: dict[str, Any] = {
        "camera_id": camera_id,
        "status": status,
        "at": (T0 + timedelta(seconds=second)).isoformat(),
    }
    if alarm is not None:
        document["alarm"] = alarm
    return json.dumps(document, ensure_ascii=False).encode()


async def events_of_type(
    redis: aioredis.Redis, names: StreamNames, kind: str
) -> list[dict[str, Any]]:
    found = [json.loads(f[b"data"]) for _, f in await redis.xrange(names.events)]
    return [e for e in found if e["type"] == kind]


async def test_camera_changes_are_events_and_an_alarm_opens_a_case_via_intake(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Only real status changes become events; a stale notice is ignored; an alarm is a case."""
    site = {"lon": 118.8771, "lat": 31.3270, "name": "高淳老街东口", "township_code": CHUNXI}
    await redis.hset(names.camera_sites, "cam-1", json.dumps(site, ensure_ascii=False))
    consumer = CamerasConsumer(
        redis, names=names, consumer="c1", settings=CameraSettings(block_ms=50)
    )
    await consumer.ensure_group()
    for message in (
        camera("cam-1", "online", 0),
        camera("cam-1", "online", 30),
        camera("cam-1", "offline", 60),
        camera("cam-1", "online", 45),  # older than what we know: ignored
        camera("cam-1", "alarm", 90, {"kind": "fire", "summary": "老街东口监控发现浓烟"}),
        camera("cam-2", "alarm", 95, {"kind": "intrusion"}),  # no point, no site: dead letter
        json.dumps({"camera_id": "cam-3", "status": "sleeping", "at": T0.isoformat()}).encode(),
    ):
        await redis.xadd(names.cameras, {"data": message})
    while await consumer.process_once():
        pass

    changes = await events_of_type(redis, names, "camera.status_changed")
    assert [(e["status"], e["previous"]) for e in changes] == [
        ("online", None),
        ("offline", "online"),
        ("alarm", "offline"),
    ]
    assert all(e["township_code"] == CHUNXI for e in changes)
    assert [(c.camera_id, c.status) for c in await latest_cameras(redis, names)] == [
        ("cam-1", "alarm")
    ]
    dead: Any = await redis.xrange(names.cameras_dead)
    reasons = sorted(f[b"reason"].decode() for _, f in dead)
    assert len(reasons) == 2
    assert any("camera site is unknown" in r for r in reasons)
    assert any("sleeping" in r or "status" in r for r in reasons)
    assert consumer.stats.alarms == 1

    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    while await worker.process_once():
        pass
    async with pool.acquire() as conn:
        report = await conn.fetchrow("SELECT * FROM case_reports")
        case = await conn.fetchrow("SELECT * FROM cases")
    assert (
        report["source_id"]
        == f"camera:cam-1:{int((T0 + timedelta(seconds=90)).timestamp() * 1000)}"
    )
    assert report["channel"] == "camera"
    assert case["category"] == "fire"
    assert case["township_code"] == CHUNXI


async def test_redelivered_camera_batch_changes_nothing_twice(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Applying the same notices again publishes no second change event."""
    consumer = CamerasConsumer(redis, names=names, consumer="c1")
    await consumer.ensure_group()
    await redis.xadd(names.cameras, {"data": camera("cam-9", "offline", 0)})
    entries: Any = await redis.xrange(names.cameras)
    await consumer.handle_batch(entries)
    await consumer.handle_batch(entries)
    assert len(await events_of_type(redis, names, "camera.status_changed")) == 1


async def test_sampled_positions_land_in_track_history_once(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Fixes every 5 s sampled at 20 s: one row per 20 s, and a re-applied batch adds none."""
    consumer = PositionsConsumer(
        redis,
        store_tracks_in(pool),
        names=names,
        consumer="p1",
        settings=PositionSettings(sample_interval_seconds=20, block_ms=50),
    )
    await consumer.ensure_group()
    for step in range(24):
        at = T0 + timedelta(seconds=5 * step)
        fix = {
            "unit_id": "patrol-3",
            "lon": 118.88,
            "lat": 31.33 + step / 1e4,
            "at": at.isoformat(),
        }
        await redis.xadd(names.positions, {"data": json.dumps(fix)})
    while await consumer.process_once():
        pass
    async with pool.acquire() as conn:
        track = await track_of(conn, "patrol-3", T0, T0 + timedelta(hours=1))
        assert [p.at - T0 for p in track] == [timedelta(seconds=s) for s in range(0, 120, 20)]
        await redis.delete(names.units_sampled)
        entries: Any = await redis.xrange(names.positions)
        await consumer.handle_batch(entries)  # as if redelivered after a crash
        again = await track_of(conn, "patrol-3", T0, T0 + timedelta(hours=1))
    assert len(again) == len(track)
