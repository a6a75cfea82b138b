"""Server-side keepalive on real Redis and PostgreSQL: silence becomes offline, once, in history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from incidents.store.camera_store import status_history, statuses_of
from realtime.camera_history import CameraHistoryRecorder
from realtime.camera_keepalive import KeepaliveScanner, watch_cameras
from realtime.cameras import CamerasConsumer, CameraSettings
from realtime.metrics import collect_metrics
from realtime.streams import StreamNames

pytestmark = pytest.mark.integration

# Statuses must be within a day of the consumer's clock; the scans get their time passed in.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def report(
    redis: aioredis.Redis, names: StreamNames, camera_id: str, status: str, second: float
) -> None:
    """A camera's own notice (a keepalive is an `online` notice)."""
    document = {"camera_id": camera_id, "status": status, "at": at(second).isoformat()}
    await redis.xadd(names.cameras, {"data": json.dumps(document)})


async def drain(consumer: CamerasConsumer) -> None:
    while await consumer.process_once():
        pass


async def changes(redis: aioredis.Redis, names: StreamNames) -> list[dict[str, Any]]:
    found = [json.loads(f[b"data"]) for _, f in await redis.xrange(names.events)]
    return [e for e in found if e["type"] == "camera.status_changed"]


@pytest.fixture
async def consumer(redis: aioredis.Redis, names: StreamNames) -> CamerasConsumer:
    made = CamerasConsumer(redis, names=names, consumer="c1", settings=CameraSettings(block_ms=20))
    await made.ensure_group()
    return made


async def test_a_silent_camera_goes_offline_after_three_missed_keepalives_and_only_once(
    redis: aioredis.Redis, names: StreamNames, consumer: CamerasConsumer
) -> None:
    """Silent from t=0: still online at 180 s, offline at 181 s, stamped at the deadline."""
    scanner = KeepaliveScanner(redis, names)
    await report(redis, names, "cam-silent", "online", 0)
    for second in (0, 60, 120, 180):
        await report(redis, names, "cam-talks", "online", second)
    await drain(consumer)

    assert await scanner.scan(at(180)) == 0  # the third keepalive is only just due
    assert await scanner.scan(at(181)) == 1
    await drain(consumer)
    offline = [e for e in await changes(redis, names) if e["status"] == "offline"]
    assert [(e["camera_id"], e["previous"], e["cause"], e["actor"]) for e in offline] == [
        ("cam-silent", "online", "keepalive_timeout", "system:camera_keepalive")
    ]
    assert datetime.fromisoformat(offline[0]["at"]) == at(180)

    # Scanning again finds nothing new: one event per change, not one per scan.
    assert await scanner.scan(at(300)) == 0
    assert await scanner.scan(at(361)) == 1  # cam-talks fell silent after 180 s
    await drain(consumer)
    assert await scanner.scan(at(900)) == 0
    assert len([e for e in await changes(redis, names) if e["status"] == "offline"]) == 2


async def test_a_camera_that_speaks_again_is_online_and_watched_again(
    redis: aioredis.Redis, names: StreamNames, consumer: CamerasConsumer
) -> None:
    """Back online after a timeout: a change event, and a later silence is caught again."""
    scanner = KeepaliveScanner(redis, names)
    await report(redis, names, "cam-1", "online", 0)
    await drain(consumer)
    assert await scanner.scan(at(200)) == 1
    await drain(consumer)
    await report(redis, names, "cam-1", "online", 300)
    await drain(consumer)
    assert await scanner.scan(at(400)) == 0
    assert await scanner.scan(at(481)) == 1
    await drain(consumer)
    statuses = [(e["status"], e["cause"]) for e in await changes(redis, names)]
    assert statuses == [
        ("online", "reported"),
        ("offline", "keepalive_timeout"),
        ("online", "reported"),
        ("offline", "keepalive_timeout"),
    ]


async def test_a_keepalive_still_in_the_stream_voids_the_timeout(
    redis: aioredis.Redis, names: StreamNames, consumer: CamerasConsumer
) -> None:
    """The scan ran before the consumer applied a keepalive from 170 s: no offline at all."""
    scanner = KeepaliveScanner(redis, names)
    await report(redis, names, "cam-1", "online", 0)
    await drain(consumer)
    await report(redis, names, "cam-1", "online", 170)  # not applied before the scan
    assert await scanner.scan(at(181)) == 1
    await drain(consumer)
    assert [e["status"] for e in await changes(redis, names)] == ["online"]
    # ...and the camera is watched from its last keepalive on.
    assert await scanner.scan(at(351)) == 1
    await drain(consumer)
    assert [e["status"] for e in await changes(redis, names)] == ["online", "offline"]


async def test_a_registered_camera_that_never_speaks_is_caught_and_reported_offline_is_not(
    redis: aioredis.Redis, names: StreamNames, consumer: CamerasConsumer
) -> None:
    """watch_cameras starts the clock; a camera that said offline itself is not scanned."""
    scanner = KeepaliveScanner(redis, names)
    assert await watch_cameras(redis, names, ["cam-mute", "cam-off"], at(0)) == 2
    assert await watch_cameras(redis, names, ["cam-mute"], at(50)) == 0  # keeps its time
    await report(redis, names, "cam-off", "offline", 10)
    await drain(consumer)
    assert await scanner.scan(at(181)) == 1
    await drain(consumer)
    assert [(e["camera_id"], e["status"]) for e in await changes(redis, names)] == [
        ("cam-off", "offline"),
        ("cam-mute", "offline"),
    ]


async def test_platform_fed_cameras_are_left_to_the_platform(
    redis: aioredis.Redis, names: StreamNames, consumer: CamerasConsumer
) -> None:
    """A camera whose status comes from wvp (cause platform_on) is not timed out by us."""
    scanner = KeepaliveScanner(redis, names)
    document = {"camera_id": "cam-wvp", "status": "online", "at": at(0).isoformat()}
    await redis.xadd(names.cameras, {"data": json.dumps(document), "cause": "platform_on"})
    await drain(consumer)
    assert await scanner.scan(at(3600)) == 0
    assert [(e["status"], e["actor"]) for e in await changes(redis, names)] == [
        ("online", "system:camera_bridge")
    ]


async def test_many_silent_cameras_are_marked_in_batches(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """More silent cameras than one batch: every one marked, each once."""
    from realtime.camera_keepalive import KeepaliveSettings

    scanner = KeepaliveScanner(redis, names, KeepaliveSettings(batch_size=7))
    await watch_cameras(redis, names, [f"cam-{n}" for n in range(30)], at(0))
    assert await scanner.scan(at(181)) == 30
    assert await redis.xlen(names.cameras) == 30
    assert await scanner.scan(at(182)) == 0


async def test_status_changes_are_recorded_once_with_cause_and_time(
    redis: aioredis.Redis, names: StreamNames, consumer: CamerasConsumer, pool: asyncpg.Pool
) -> None:
    """The history recorder stores each change once, even when its batch comes again."""
    scanner = KeepaliveScanner(redis, names)
    await report(redis, names, "cam-1", "online", 0)
    await report(redis, names, "cam-1", "fault", 30)
    await drain(consumer)
    await scanner.scan(at(211))
    await drain(consumer)
    await redis.xadd(names.events, {"data": json.dumps({"type": "case.opened"})})
    await redis.xadd(names.events, {"data": b'{"type": "camera.status_changed", "x"'})

    recorder = CameraHistoryRecorder(redis, pool, names=names, consumer="h1", block_ms=20)
    await recorder.ensure_group()
    while await recorder.process_once():
        pass
    entries: Any = await redis.xrange(names.events)
    await recorder.handle_batch(entries)  # a redelivery writes nothing twice

    async with pool.acquire() as conn:
        history = await status_history(conn, "cam-1", at(-1), at(1000))
        # The latest of the asked cameras; one with no history is left out.
        now = await statuses_of(conn, ["cam-1", "cam-none"])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM camera_status_history")
    assert [(h.status, h.previous, h.cause, h.at) for h in history] == [
        ("online", None, "reported", at(0)),
        ("fault", "online", "reported", at(30)),
        ("offline", "fault", "keepalive_timeout", at(210)),
    ]
    assert [(s.camera_id, s.status, s.since) for s in now] == [("cam-1", "offline", at(210))]
    assert recorder.stats.recorded == 3
    assert recorder.stats.skipped == 3
    dead: Any = await redis.xrange(names.cameras_dead)
    assert len(dead) == 2  # the unreadable event, once per delivery
    assert b"unreadable camera.status_changed" in dead[0][1][b"reason"]
    snapshot = await collect_metrics(redis, names, datetime.now(UTC))
    lag = next(lag for lag in snapshot.lags if lag.group == "camera_history")
    assert (lag.stream, lag.pending, lag.undelivered) == (names.events, 0, 0)
