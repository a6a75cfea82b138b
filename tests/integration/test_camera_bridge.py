"""The wvp-GB28181-pro bridge on real Redis: PUBLISH the platform's messages, read our streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from geo.cameras import Camera, CameraPlacement
from realtime.camera_bridge import PLATFORM_TZ, BridgeSettings, CameraBridge, run_camera_bridge
from realtime.cameras import CamerasConsumer, CameraSettings, publish_camera_sites
from realtime.streams import StreamNames

pytestmark = pytest.mark.integration

NVR = "32011800001180000001"
CAM = "32011800001320000007"  # a channel of the NVR
IPC = "32011800001320000008"  # a camera registered on its own
MOBILE = "32011800001380000001"  # a body/vehicle camera that rides with a patrol car
CHUNXI = "320118001000"


class RunningBridge:
    """A bridge running against this test's channels, and how to wait for it."""

    def __init__(self, bridge: CameraBridge, names: StreamNames, redis: aioredis.Redis) -> None:
        self.bridge = bridge
        self.names = names
        self.redis = redis

    @property
    def channels(self) -> BridgeSettings:
        return self.bridge.settings

    async def publish(self, channel: str, message: bytes | str) -> None:
        """Publish one message and wait until the bridge has handled it."""
        before = sum(self.bridge.stats.by_channel.values())
        assert await self.redis.publish(channel, message) == 1  # the bridge is subscribed
        for _ in range(500):
            if sum(self.bridge.stats.by_channel.values()) > before:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the bridge never handled {message!r:.80}")

    async def entries(self, stream: str) -> list[tuple[dict[str, Any], str | None]]:
        """(document, cause) of every entry on one of our streams."""
        raw: Any = await self.redis.xrange(stream)
        return [
            (json.loads(f[b"data"]), f[b"cause"].decode() if b"cause" in f else None)
            for _, f in raw
        ]

    async def dead(self) -> list[dict[str, bytes]]:
        raw: Any = await self.redis.xrange(self.names.camera_bridge_dead)
        return [{k.decode(): v for k, v in f.items()} for _, f in raw]


@pytest.fixture
async def running(
    redis: aioredis.Redis, names: StreamNames, servers: tuple[str, str]
) -> AsyncIterator[RunningBridge]:
    """A bridge from this Redis (as the platform's) to this test's prefix, channels unique."""
    redis_url, _ = servers
    registry = [
        Camera(code, "高淳老街东口", CameraPlacement.POINT, 118.8771, 31.327, 0.0, 90.0, 80.0,
               CHUNXI, True)
        for code in (CAM, IPC)
    ]  # fmt: skip
    assert await publish_camera_sites(redis, names, registry) == 2
    await redis.hset(names.camera_bridge_units, MOBILE, "patrol-7")
    # Pub/sub channels are server-wide: this test's own names keep parallel runs apart.
    settings = BridgeSettings(
        redis_url,
        device_channel=f"{names.prefix}device",
        alarm_channel=f"{names.prefix}alarm",
        gps_channel=f"{names.prefix}VM_MSG_GPS",
        client_name=f"{names.prefix}bridge".replace(":", "-"),
    )
    bridge = CameraBridge(redis, names, settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        run_camera_bridge(redis, names, settings, stop, bridge=bridge, ready=ready)
    )
    await asyncio.wait_for(ready.wait(), 10)
    yield RunningBridge(bridge, names, redis)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_device_and_channel_statuses_become_camera_entries(running: RunningBridge) -> None:
    """ON/OFF/ADD/DELETE of a channel (deviceId:channelId) and of a camera on its own."""
    device = running.channels.device_channel
    for message in (
        f"{NVR}:{CAM} ON",
        f"{NVR}:{CAM} OFF",
        f"{IPC} ADD",
        f"{IPC} DELETE",
        f"{IPC} ON\r\n",  # a trailing line end is still the message
    ):
        await running.publish(device, message)
    entries = await running.entries(running.names.cameras)
    assert [(d["camera_id"], d["status"], c) for d, c in entries] == [
        (CAM, "online", "platform_on"),
        (CAM, "offline", "platform_off"),
        (IPC, "online", "platform_add"),
        (IPC, "offline", "platform_delete"),
        (IPC, "online", "platform_on"),
    ]
    assert set(entries[0][0]) == {"camera_id", "status", "at"}  # the cameras contract
    assert running.bridge.stats.statuses == 5
    assert await running.dead() == []


async def test_alarms_map_to_our_kinds_faults_and_severity(running: RunningBridge) -> None:
    """Video intrusion is an alarm, video loss a fault, a priority becomes the severity."""
    alarm = running.channels.alarm_channel
    for message in (
        {"gbId": CAM, "alarmSn": 5, "alarmType": 6, "alarmDescription": "周界入侵"},
        {"gbId": CAM, "alarmSn": 2, "alarmType": 1, "alarmDescription": "视频丢失"},
        {"gbId": IPC, "alarmSn": 5, "alarmType": 10, "alarmPriority": 1},
        {"gbId": IPC, "alarmSn": 7, "alarmDescription": "a\x07b\nc", "extra": "ignored"},
    ):
        await running.publish(alarm, json.dumps(message, ensure_ascii=False))
    entries = await running.entries(running.names.cameras)
    assert [(d["status"], d.get("alarm"), c) for d, c in entries] == [
        ("alarm", {"kind": "intrusion", "summary": "周界入侵"}, "platform_alarm"),
        ("fault", None, "platform_alarm"),
        ("alarm", {"kind": "crowd", "severity": 1}, "platform_alarm"),
        ("alarm", {"kind": "other", "summary": "a b c"}, "platform_alarm"),
    ]
    assert (running.bridge.stats.alarms, running.bridge.stats.faults) == (3, 1)


async def test_unknown_and_malformed_messages_are_dead_lettered_and_the_bridge_goes_on(
    running: RunningBridge,
) -> None:
    """Each refusal is counted, kept with its raw bytes and reason; a good message still passes."""
    device, alarm = running.channels.device_channel, running.channels.alarm_channel
    huge = f"{CAM} ON" + " " * 100_000
    bad: list[tuple[str, bytes | str, str]] = [
        (device, "99999999999999999999 ON", "unknown camera"),
        (alarm, json.dumps({"gbId": "99999999999999999999", "alarmSn": 5}), "unknown camera"),
        (device, f"{CAM} SLEEP", "not 'deviceId"),
        (device, f"{CAM}\x00 ON", "not 'deviceId"),
        (device, "", "not 'deviceId"),
        (device, b"\xff\xfe ON", "not UTF-8"),
        (device, huge, "larger than"),
        (alarm, "{not json", "not JSON"),
        (alarm, json.dumps({"alarmSn": 5}), "invalid alarm"),
        (alarm, json.dumps({"gbId": CAM, "alarmSn": "five"}), "invalid alarm"),
        (alarm, json.dumps([1, 2]), "invalid alarm"),
    ]
    for channel, message, _ in bad:
        await running.publish(channel, message)
    await running.publish(device, f"{CAM} ON")

    dead = await running.dead()
    assert len(dead) == len(bad)
    for letter, (channel, message, reason) in zip(dead, bad, strict=True):
        assert letter["channel"].decode() == channel
        assert reason in letter["reason"].decode()
        raw = message.encode() if isinstance(message, str) else message
        assert letter["data"] == raw[:8192]
        assert int(letter["size"]) == len(raw)
    assert running.bridge.stats.unknown_devices == 2
    assert running.bridge.stats.malformed == len(bad) - 2
    assert [d["camera_id"] for d, _ in await running.entries(running.names.cameras)] == [CAM]


async def test_gps_of_a_mobile_camera_moves_its_unit_and_fixed_cameras_are_ignored(
    running: RunningBridge,
) -> None:
    """wvp's VM_MSG_GPS shape: local time without offset, direction as a string."""
    gps = running.channels.gps_channel
    local = datetime.now(PLATFORM_TZ).replace(microsecond=0) - timedelta(minutes=3)
    fix = {
        "messageId": "1727228507555",
        "id": MOBILE,
        "lng": 118.8771,
        "lat": 31.327,
        "time": local.replace(tzinfo=None).isoformat(),
        "direction": "56.0",
        "speed": 32.5,
        "altitude": 60.0,
    }
    await running.publish(gps, json.dumps(fix))
    await running.publish(gps, json.dumps({**fix, "id": CAM}))
    await running.publish(gps, json.dumps({**fix, "lng": 500}))
    await running.publish(gps, json.dumps({**fix, "direction": "north"}))
    positions = await running.entries(running.names.positions)
    assert positions == [
        (
            {
                "unit_id": "patrol-7",
                "lon": 118.8771,
                "lat": 31.327,
                "at": local.isoformat(),
                "speed": 32.5,
                "heading": 56.0,
            },
            None,
        )
    ]
    assert running.bridge.stats.positions == 1
    assert running.bridge.stats.gps_ignored == 1
    assert running.bridge.stats.malformed == 2


async def test_bridged_entries_flow_through_the_cameras_consumer(
    running: RunningBridge,
) -> None:
    """The consumer takes the bridge's entries: change events say the platform did it."""
    await running.publish(running.channels.device_channel, f"{NVR}:{CAM} ON")
    alarm = {"gbId": CAM, "alarmSn": 5, "alarmType": 6, "alarmDescription": "周界入侵"}
    await running.publish(running.channels.alarm_channel, json.dumps(alarm))
    consumer = CamerasConsumer(
        running.redis, names=running.names, consumer="c1", settings=CameraSettings(block_ms=20)
    )
    await consumer.ensure_group()
    while await consumer.process_once():
        pass
    events: Any = await running.redis.xrange(running.names.events)
    changes = [json.loads(f[b"data"]) for _, f in events]
    assert [(e["status"], e["cause"], e["actor"]) for e in changes] == [
        ("online", "platform_on", "system:camera_bridge"),
        ("alarm", "platform_alarm", "system:camera_bridge"),
    ]
    intake: Any = await running.redis.xrange(running.names.intake)
    report = json.loads(intake[0][1][b"data"])
    assert (report["channel"], report["category"]) == ("camera", "public_security")
    assert report["location"] == {"lon": 118.8771, "lat": 31.327, "address": "高淳老街东口"}
    assert consumer.stats.rejected == 0


async def test_the_bridge_reconnects_when_the_platforms_redis_drops_it(
    running: RunningBridge,
) -> None:
    """Its subscription killed on the server, the bridge subscribes again and carries on."""
    device = running.channels.device_channel
    clients: Any = await running.redis.client_list()
    ours = [c["id"] for c in clients if c.get("name") == running.channels.client_name]
    assert len(ours) == 1
    await running.redis.execute_command("CLIENT", "KILL", "ID", ours[0])
    for _ in range(1000):
        subscribed: Any = await running.redis.pubsub_numsub(device)
        if running.bridge.stats.reconnects == 1 and subscribed[0][1] == 1:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the bridge did not come back")
    await running.publish(device, f"{CAM} ON")
    assert [d["status"] for d, _ in await running.entries(running.names.cameras)] == ["online"]
