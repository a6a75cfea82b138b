"""The bridge from the county's video platform (wvp-GB28181-pro) to our cameras stream.

wvp publishes on Redis pub/sub (its own Redis): device and channel status on `device` as
plain text `deviceId[:channelId] ON|OFF|ADD|DELETE`, alarms on `alarm` as JSON
`{gbId, alarmSn, alarmType, alarmDescription}` (wvp fills alarmSn with the GB/T 28181 alarm
method), and positions on `VM_MSG_GPS` as JSON `{id, lng, lat, time, speed, direction, ...}`.
Each message becomes one cameras-stream entry (or a positions entry for a camera that rides
with a unit), or a dead letter on `cameras:bridge:dead` with the raw message and the reason;
nothing the platform sends can stop the bridge. The mapping is in docs/camera-bridge.md.

Pub/sub keeps nothing for a subscriber that is away: what wvp publishes while the bridge is
disconnected is lost, which the platform's next status and our keepalive check make good.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import msgspec
import redis.asyncio as aioredis

from realtime.cameras import CAUSE_FIELD, CameraAlarm, CameraCause, CameraState, CameraStatus
from realtime.outages import REDIS_DOWN, Backoff
from realtime.positions import PositionFix, implausible_time
from realtime.stream_trim import DEAD_LETTER_CAP
from realtime.streams import DATA_FIELD, StreamNames

log = logging.getLogger(__name__)

# wvp's messages are a few hundred bytes; anything far larger is not one of them.
MAX_MESSAGE_BYTES = 4096
# What of a refused message the dead letter keeps (a flood of huge ones stays bounded).
DEAD_RAW_BYTES = 8192
# wvp stamps GPS times without an offset, in the platform's local time.
PLATFORM_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_DEVICE = re.compile(r"^([0-9A-Za-z]{1,32})(?::([0-9A-Za-z]{1,32}))? (ON|OFF|ADD|DELETE)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A channel the platform adds is registered and reporting (GB/T 28181 catalog ADD); one it
# deletes is gone from the platform, so nothing will watch it any more.
_DEVICE_ACTIONS: dict[str, tuple[CameraState, CameraCause]] = {
    "ON": ("online", "platform_on"),
    "OFF": ("offline", "platform_off"),
    "ADD": ("online", "platform_add"),
    "DELETE": ("offline", "platform_delete"),
}

# GB/T 28181-2016 alarm methods (AlarmMethod) and, per method, alarm types (AlarmType).
METHOD_DEVICE, METHOD_VIDEO, METHOD_FAULT = 2, 5, 6
# (method, type) → our alarm kind; the kind picks the intake category (realtime/cameras.py).
ALARM_KINDS: dict[tuple[int, int], str] = {
    (METHOD_DEVICE, 2): "tamper",
    (METHOD_VIDEO, 1): "manual",
    (METHOD_VIDEO, 2): "motion",
    (METHOD_VIDEO, 3): "left_object",
    (METHOD_VIDEO, 4): "object_removed",
    (METHOD_VIDEO, 5): "tripwire",
    (METHOD_VIDEO, 6): "intrusion",
    (METHOD_VIDEO, 7): "traffic",  # 逆行: a vehicle against the traffic
    (METHOD_VIDEO, 8): "loitering",
    (METHOD_VIDEO, 9): "crowd",  # 流量统计: more people than the limit passing
    (METHOD_VIDEO, 10): "crowd",  # 密度检测: a crowd gathering
    (METHOD_VIDEO, 12): "fast_moving",
}
# Alarms that say the camera is broken, not that something happened in front of it.
FAULT_TYPES: frozenset[tuple[int, int]] = frozenset(
    {(METHOD_DEVICE, 1), (METHOD_DEVICE, 3), (METHOD_DEVICE, 4), (METHOD_DEVICE, 5)}
    | {(METHOD_VIDEO, 11), (METHOD_FAULT, 1), (METHOD_FAULT, 2)}
)
METHOD_KINDS = {1: "phone", 2: "device", 3: "sms", 4: "gps", 5: "video", 7: "other"}


class BridgeRejected(ValueError):
    """A platform message that cannot become an entry; the message is the dead-letter reason."""


GbId = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$")]


class WvpAlarm(msgspec.Struct, frozen=True):
    """wvp's AlarmChannelMessage (other fields a newer wvp may add are ignored)."""

    gbId: GbId
    alarmSn: int | None = None
    alarmType: int | None = None
    alarmDescription: str | None = None
    # Not sent by wvp today; GB/T 28181's AlarmPriority (1 most severe … 4) when a platform does.
    alarmPriority: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None


class WvpGps(msgspec.Struct, frozen=True):
    """wvp's GPSMsgInfo as published on VM_MSG_GPS (speed km/h, direction ° from north)."""

    id: GbId
    lng: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    time: str | None = None
    speed: float | str | None = None
    direction: float | str | None = None


_alarm_decoder = msgspec.json.Decoder(WvpAlarm)
_gps_decoder = msgspec.json.Decoder(WvpGps)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """One `device` channel message: which device (and channel) and what happened."""

    device_id: str
    channel_id: str | None
    action: str

    @property
    def camera_id(self) -> str:
        """The camera meant: the channel when given, else the device itself (an IPC)."""
        return self.channel_id or self.device_id


def _text(raw: bytes) -> str:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BridgeRejected(f"message is {len(raw)} bytes, larger than {MAX_MESSAGE_BYTES}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BridgeRejected("message is not UTF-8") from None


def parse_device_status(raw: bytes) -> DeviceStatus:
    """Read `deviceId[:channelId] ON|OFF|ADD|DELETE`; raise BridgeRejected otherwise."""
    text = _text(raw).strip()
    match = _DEVICE.match(text)
    if match is None:
        raise BridgeRejected("not 'deviceId[:channelId] ON|OFF|ADD|DELETE'")
    return DeviceStatus(match.group(1), match.group(2), match.group(3))


def status_entry(status: DeviceStatus, now: datetime) -> dict[bytes, bytes]:
    """The cameras-stream entry for a device or channel status."""
    state, cause = _DEVICE_ACTIONS[status.action]
    return _entry(CameraStatus(status.camera_id, state, now), cause)


def parse_alarm(raw: bytes) -> WvpAlarm:
    """Read an `alarm` channel message; raise BridgeRejected with the reason."""
    try:
        return _alarm_decoder.decode(_text(raw))
    except msgspec.ValidationError as exc:
        raise BridgeRejected(f"invalid alarm: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BridgeRejected(f"alarm is not JSON: {exc}") from None


def is_fault(alarm: WvpAlarm) -> bool:
    """Whether the alarm says the camera is broken (video loss, disk, temperature, fan)."""
    return (alarm.alarmSn or 0, alarm.alarmType or 0) in FAULT_TYPES


def alarm_entry(alarm: WvpAlarm, now: datetime) -> dict[bytes, bytes]:
    """The cameras-stream entry for an alarm: a fault status, or an alarm with its kind."""
    if is_fault(alarm):
        return _entry(CameraStatus(alarm.gbId, "fault", now), "platform_alarm")
    method = alarm.alarmSn or 0
    kind = ALARM_KINDS.get((method, alarm.alarmType or 0)) or METHOD_KINDS.get(method, "other")
    description = _CONTROL.sub(" ", alarm.alarmDescription or "").strip()[:500] or None
    camera_alarm = CameraAlarm(kind, description, alarm.alarmPriority)
    return _entry(CameraStatus(alarm.gbId, "alarm", now, camera_alarm), "platform_alarm")


@dataclass(frozen=True, slots=True)
class GpsFix:
    """A position the platform received from a camera (speed km/h, heading ° from north)."""

    gb_id: str
    lon: float
    lat: float
    at: datetime
    speed: float | None
    heading: float | None


def parse_gps(raw: bytes, now: datetime) -> GpsFix:
    """Read a VM_MSG_GPS message; raise BridgeRejected with the reason."""
    try:
        gps = _gps_decoder.decode(_text(raw))
    except msgspec.ValidationError as exc:
        raise BridgeRejected(f"invalid GPS: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BridgeRejected(f"GPS is not JSON: {exc}") from None
    at = _platform_time(gps.time) if gps.time else now
    why = implausible_time(at, now)
    if why is not None:
        raise BridgeRejected(f"implausible GPS: {why}")
    speed = _number(gps.speed, "speed", 0.0, 1000.0)
    heading = _number(gps.direction, "direction", 0.0, 360.0)
    return GpsFix(gps.id, gps.lng, gps.lat, at, speed, heading)


def _platform_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise BridgeRejected(f"GPS time {text[:40]!r} is not ISO 8601") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=PLATFORM_TZ)


def _number(value: float | str | None, name: str, low: float, high: float) -> float | None:
    # wvp sends direction as a string ("56.0") and speed as a number.
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise BridgeRejected(f"GPS {name} {str(value)[:20]!r} is not a number") from None
    if not low <= number <= high:
        raise BridgeRejected(f"GPS {name} {number} is outside {low}..{high}")
    return number


def position_entry(unit_id: str, fix: GpsFix) -> dict[bytes, bytes]:
    """The positions-stream entry of a unit whose camera reported a fix."""
    heading = None if fix.heading is None else fix.heading % 360.0
    position = PositionFix(unit_id, fix.lon, fix.lat, fix.at, fix.speed, heading)
    return {DATA_FIELD: msgspec.json.encode(position)}


def _entry(status: CameraStatus, cause: CameraCause) -> dict[bytes, bytes]:
    return {DATA_FIELD: msgspec.json.encode(status), CAUSE_FIELD: cause.encode()}


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    """Where the platform publishes, and on which channels."""

    source_redis_url: str
    device_channel: str = "device"
    alarm_channel: str = "alarm"
    gps_channel: str = "VM_MSG_GPS"
    # How the bridge names itself on the platform's Redis (CLIENT LIST), for operators.
    client_name: str = "pingan-camera-bridge"


@dataclass
class BridgeStats:
    """Counters: what became entries, what was ignored, what was refused (and why)."""

    statuses: int = 0
    alarms: int = 0
    faults: int = 0
    positions: int = 0
    gps_ignored: int = 0
    unknown_devices: int = 0
    malformed: int = 0
    reconnects: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


class CameraBridge:
    """Turns one platform message at a time into our entries (target Redis)."""

    def __init__(
        self,
        target: aioredis.Redis,
        names: StreamNames,
        settings: BridgeSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._target = target
        self._names = names
        self.settings = settings
        self._clock = clock
        self.stats = BridgeStats()

    async def handle(self, channel: str, raw: bytes) -> None:
        """Handle one message; a bad one is dead-lettered, never raised (Redis outages are).

        Counters move only once the write succeeded, so a retried message counts once.
        """
        now = self._clock()
        try:
            stream, entry, counter = await self._translate(channel, raw, now)
        except _Unknown as exc:
            await self._dead(channel, raw, str(exc))
            counter = "unknown_devices"
        except BridgeRejected as exc:
            await self._dead(channel, raw, str(exc))
            counter = "malformed"
        else:
            if stream is not None and entry is not None:
                await self._target.xadd(stream, entry)  # type: ignore[arg-type]
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self.stats.by_channel[channel] = self.stats.by_channel.get(channel, 0) + 1

    async def _translate(
        self, channel: str, raw: bytes, now: datetime
    ) -> tuple[str | None, dict[bytes, bytes] | None, str]:
        """(stream, entry, counter) for a message; (None, None, counter) when it is ignored."""
        if channel == self.settings.device_channel:
            status = parse_device_status(raw)
            await self._known(status.camera_id)
            return self._names.cameras, status_entry(status, now), "statuses"
        if channel == self.settings.alarm_channel:
            alarm = parse_alarm(raw)
            await self._known(alarm.gbId)
            counter = "faults" if is_fault(alarm) else "alarms"
            return self._names.cameras, alarm_entry(alarm, now), counter
        if channel == self.settings.gps_channel:
            fix = parse_gps(raw, now)
            unit: Any = await self._target.hget(self._names.camera_bridge_units, fix.gb_id)
            if unit is None:
                # A fixed camera's position is its registry site; only mobile ones move units.
                return None, None, "gps_ignored"
            unit_id = unit.decode() if isinstance(unit, bytes) else str(unit)
            return self._names.positions, position_entry(unit_id, fix), "positions"
        raise BridgeRejected(f"message on a channel the bridge does not read: {channel[:64]}")

    async def _known(self, camera_id: str) -> None:
        if not await self._target.hexists(self._names.camera_sites, camera_id):
            raise _Unknown(f"unknown camera {camera_id} (not in the camera registry)")

    async def _dead(self, channel: str, raw: bytes, reason: str) -> None:
        log.warning("camera bridge refused a %s message: %s", channel, reason)
        await self._target.xadd(
            self._names.camera_bridge_dead,
            {
                "channel": channel,
                "reason": reason,
                "size": len(raw),
                "data": raw[:DEAD_RAW_BYTES],
            },
            maxlen=DEAD_LETTER_CAP,
            approximate=True,
        )


class _Unknown(BridgeRejected):
    """A well-formed message about a camera the registry does not hold."""


async def _pump(
    bridge: CameraBridge, source: aioredis.Redis, stop: asyncio.Event, ready: asyncio.Event | None
) -> None:
    """Subscribe and hand every message to the bridge until `stop` (raises on Redis loss)."""
    settings = bridge.settings
    pubsub = source.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(
            settings.device_channel, settings.alarm_channel, settings.gps_channel
        )
        if ready is not None:
            ready.set()
        while not stop.is_set():
            message = await pubsub.get_message(timeout=0.5)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            data = message["data"]
            raw = data if isinstance(data, bytes) else str(data).encode()
            await _until_written(bridge, channel, raw, stop)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2


async def _until_written(
    bridge: CameraBridge, channel: str, raw: bytes, stop: asyncio.Event
) -> None:
    """Hand a message over, retrying while our own Redis is away (pub/sub cannot replay it)."""
    backoff = Backoff()
    while True:
        try:
            await bridge.handle(channel, raw)
            return
        except REDIS_DOWN as exc:
            log.warning("camera bridge cannot write (%r); retrying", exc)
            if await backoff.wait(stop):
                return


async def run_camera_bridge(
    target: aioredis.Redis,
    names: StreamNames,
    settings: BridgeSettings,
    stop: asyncio.Event,
    *,
    bridge: CameraBridge | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Bridge the platform's channels into our streams until `stop`; reconnect on Redis loss."""
    bridge = bridge or CameraBridge(target, names, settings)
    backoff = Backoff(maximum=10.0)
    while not stop.is_set():
        source = aioredis.Redis.from_url(
            settings.source_redis_url, socket_timeout=10, client_name=settings.client_name
        )
        try:
            await _pump(bridge, source, stop, ready)
        except REDIS_DOWN as exc:
            bridge.stats.reconnects += 1
            log.warning("camera bridge lost the platform's Redis (%r); reconnecting", exc)
            if await backoff.wait(stop):
                break
        finally:
            await source.aclose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `cameras-bridge` options, on app.py's subcommand parser or a parser of its own."""
    parser.add_argument("--source-redis", required=True, help="the video platform's Redis URL")
    parser.add_argument("--target-redis", default=None, help="our Redis (default: REDIS_URL)")
    parser.add_argument("--stream-prefix", default=None, help="default: PINGAN_STREAM_PREFIX")
    parser.add_argument("--device-channel", default="device")
    parser.add_argument("--alarm-channel", default="alarm")
    parser.add_argument("--gps-channel", default="VM_MSG_GPS")


def run_from_args(args: argparse.Namespace) -> None:
    """Run the bridge with parsed options until SIGINT/SIGTERM."""
    import os
    import signal

    target_url = args.target_redis or os.environ.get("REDIS_URL")
    if not target_url:
        raise SystemExit("our Redis: give --target-redis or set REDIS_URL")
    prefix = (
        args.stream_prefix
        if args.stream_prefix is not None
        else os.environ.get("PINGAN_STREAM_PREFIX", "")
    )
    settings = BridgeSettings(
        args.source_redis, args.device_channel, args.alarm_channel, args.gps_channel
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        target = aioredis.Redis.from_url(target_url, socket_timeout=10)
        try:
            await run_camera_bridge(target, StreamNames(prefix), settings, stop)
        finally:
            await target.aclose()

    asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> None:
    """`cameras-bridge --source-redis URL [...]` as a command of its own."""
    parser = argparse.ArgumentParser(
        prog="cameras-bridge", description="Bridge wvp-GB28181-pro's Redis channels to ours."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run_from_args(args)
