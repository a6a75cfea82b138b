"""Camera status (stream `cameras`): latest per camera, change events, alarms into intake.

Shaped after GB/T 28181 keepalive and alarm notices. One Lua script applies a whole batch
atomically: it keeps the latest status per camera (newest `at` wins), publishes
`camera.status_changed` for real changes, turns alarms into intake/1 reports (so a camera
alarm opens or joins a case through the normal intake path, idempotently by source_id),
dead-letters bad messages and acknowledges the batch. A crash before the script leaves the
batch pending; after it, nothing is left to do.

The same script keeps `cameras:seen` (when each camera was last heard) for the server-side
keepalive check (realtime/camera_keepalive.py). An entry may carry a second field `cause`
(our own producers: the keepalive check and the video-platform bridge) saying why the status
changed; it travels on the change event and into the status history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import redis.asyncio as aioredis

from geo.cameras import Camera
from realtime.group_reader import GroupReader
from realtime.positions import implausible_time
from realtime.streams import CAMERAS_GROUP, DATA_FIELD, StreamNames

log = logging.getLogger(__name__)

CameraState = Literal["online", "offline", "fault", "alarm"]
# Why a status was set: the camera's own notice, the server's keepalive check, or the platform.
CameraCause = Literal[
    "reported",
    "keepalive_timeout",
    "platform_on",
    "platform_off",
    "platform_add",
    "platform_delete",
    "platform_alarm",
]
CAMERA_CAUSES: frozenset[str] = frozenset(CameraCause.__args__)  # type: ignore[attr-defined]
CAUSE_FIELD = b"cause"
# GB/T 28181 defaults: a keepalive every 60 s, offline after three are missed.
KEEPALIVE_INTERVAL_SECONDS = 60.0
KEEPALIVE_MISSED = 3
MAX_CAMERA_BYTES = 4096

# Alarm kind → intake category; anything else is a public-security matter for the centre.
ALARM_CATEGORY = {
    "fire": "fire",
    "smoke": "fire",
    "intrusion": "public_security",
    "loitering": "public_security",
    "fight": "public_security",
    "crowd": "mass_incident",
    "traffic": "traffic",
    "flood": "emergency",
}


class CameraRejected(ValueError):
    """A camera message that breaks the contract; the message is the dead-letter reason."""


class CameraAlarm(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """What the camera raised; location falls back to the registered camera site."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    severity: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)] | None = None
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)] | None = None


class CameraStatus(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """One camera message as it arrives on the cameras stream."""

    camera_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
    status: CameraState
    at: Annotated[datetime, msgspec.Meta(tz=True)]
    alarm: CameraAlarm | None = None


class CameraSite(msgspec.Struct, frozen=True):
    """Where a camera stands (hash `cameras:sites`), for placing alarms that carry no point."""

    lon: float
    lat: float
    name: str | None = None
    township_code: str | None = None


class CameraView(msgspec.Struct, frozen=True, gc=False):
    """A camera's latest status as kept in `cameras:latest` and shown on screens."""

    camera_id: str
    status: CameraState
    at: datetime
    at_ms: int


class CameraStatusChanged(
    msgspec.Struct, frozen=True, gc=False, tag_field="type", tag="camera.status_changed"
):
    """The events-stream event of a camera whose status changed (`previous`: the one before)."""

    schema: str
    at: datetime
    actor: str
    camera_id: str
    status: CameraState
    previous: str | None
    township_code: str | None = None
    cause: CameraCause = "reported"


# The Lua script fills in `previous`, which only Redis knows when the batch is applied.
_PREVIOUS_PLACEHOLDER = "__PREVIOUS__"
_status_decoder = msgspec.json.Decoder(CameraStatus)
_view_decoder = msgspec.json.Decoder(CameraView)
_site_decoder = msgspec.json.Decoder(CameraSite)


def cause_of(fields: dict[bytes, bytes]) -> CameraCause:
    """The entry's `cause` field ("reported" when absent); raise CameraRejected if unknown."""
    raw = fields.get(CAUSE_FIELD)
    if raw is None:
        return "reported"
    cause = raw.decode("utf-8", "replace")
    if cause not in CAMERA_CAUSES:
        raise CameraRejected(f"unknown cause {cause[:64]!r}")
    return cause  # type: ignore[return-value]


def keepalive_watched(status: CameraState, cause: CameraCause) -> bool:
    """Whether the server's keepalive check should watch a camera after this notice.

    Not once it is offline (nothing to detect), and not when its status comes from the video
    platform: the platform runs the GB/T 28181 keepalive itself and publishes OFF, while
    passing on no keepalives, so our check would call every such camera silent.
    """
    return status != "offline" and not cause.startswith("platform_")


def actor_of(camera_id: str, cause: CameraCause) -> str:
    """Who set a status: the camera itself, the server's keepalive check, or the platform."""
    if cause == "keepalive_timeout":
        return "system:camera_keepalive"
    if cause.startswith("platform_"):
        return "system:camera_bridge"
    return f"camera:{camera_id}"


def decode_camera(fields: dict[bytes, bytes], now: datetime) -> CameraStatus:
    """Validate a raw cameras entry received at `now`; raise CameraRejected with the reason."""
    if DATA_FIELD not in fields or not set(fields) <= {DATA_FIELD, CAUSE_FIELD}:
        raise CameraRejected("entry must have the field 'data' (and at most 'cause')")
    raw = fields[DATA_FIELD]
    if len(raw) > MAX_CAMERA_BYTES:
        raise CameraRejected(f"document is {len(raw)} bytes, larger than {MAX_CAMERA_BYTES}")
    try:
        status = _status_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise CameraRejected(f"invalid: {exc}") from None
    except msgspec.DecodeError as exc:
        raise CameraRejected(f"not JSON: {exc}") from None
    if status.alarm is not None and (status.alarm.lon is None) != (status.alarm.lat is None):
        raise CameraRejected("invalid: alarm needs both lon and lat, or neither")
    why = implausible_time(status.at, now)
    if why is not None:
        raise CameraRejected(f"implausible: {why}")  # it would freeze the camera's status
    return status


def alarm_report(status: CameraStatus, site: CameraSite | None) -> bytes | None:
    """The intake/1 document for a camera alarm, or None when nowhere can place it."""
    alarm = status.alarm
    if alarm is None:
        return None
    if alarm.lon is not None and alarm.lat is not None:
        lon, lat = alarm.lon, alarm.lat
    elif site is not None:
        lon, lat = site.lon, site.lat
    else:
        return None
    place = site.name if site is not None and site.name else status.camera_id
    document: dict[str, Any] = {
        "schema": "intake/1",
        # One report per alarm notice: a redelivered notice is the same report.
        "source_id": f"camera:{status.camera_id}:{int(status.at.timestamp() * 1000)}",
        "channel": "camera",
        "category": ALARM_CATEGORY.get(alarm.kind, "public_security"),
        "summary": alarm.summary or f"{place}监控点位报警：{alarm.kind}",
        "location": {"lon": lon, "lat": lat, "address": place[:200]},
        "reported_at": status.at.isoformat(),
    }
    if alarm.severity is not None:
        document["severity"] = alarm.severity
    return msgspec.json.encode(document)


# KEYS: latest hash, events, intake, dead letters, cameras stream, last-heard sorted set.
# ARGV: group, maxlen, count of items, then per item:
#   kind ("s" status | "d" dead), entry id, and for "s": camera, at_ms, latest json,
#   change event json (with __PREVIOUS__ placeholder), alarm intake json or "", watch (1|0),
#   heard-by guard (epoch ms or ""): applies only if the camera was last heard no later;
#   for "d": reason, original data.
_APPLY = """
local group, maxlen, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local i = 4
local ids = {}
local changed = 0
for _ = 1, n do
  local kind, entry = ARGV[i], ARGV[i + 1]
  ids[#ids + 1] = entry
  if kind == 's' then
    local camera, at, doc, event, alarm = ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4],
      ARGV[i + 5], ARGV[i + 6]
    local watch = ARGV[i + 7] == '1'
    local guard = tonumber(ARGV[i + 8])
    local current = redis.call('HGET', KEYS[1], camera)
    local previous = nil
    local newer = true
    if current then
      local known = cjson.decode(current)
      previous = known['status']
      newer = tonumber(known['at_ms']) < at
      -- A keepalive timeout is void once the camera was heard within the timeout before it.
      if guard and tonumber(known['at_ms']) > guard then
        newer = false
      end
    end
    if newer then
      redis.call('HSET', KEYS[1], camera, doc)
      local status = cjson.decode(doc)['status']
      -- Only the newest notice decides whether the keepalive check watches this camera.
      if watch then
        redis.call('ZADD', KEYS[6], at, camera)
      else
        redis.call('ZREM', KEYS[6], camera)
      end
      if previous ~= status then
        local text = string.gsub(event, '"__PREVIOUS__"',
          previous and ('"' .. previous .. '"') or 'null')
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', 'data', text)
        changed = changed + 1
      end
    end
    if alarm ~= '' then
      redis.call('XADD', KEYS[3], '*', 'data', alarm)
    end
    i = i + 9
  else
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'reason', ARGV[i + 2],
      'entry_id', entry, 'data', ARGV[i + 3])
    i = i + 4
  end
end
if #ids > 0 then
  redis.call('XACK', KEYS[5], group, unpack(ids))
end
return changed
"""


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """Tuning of the cameras consumer."""

    batch_size: int = 500
    block_ms: int = 1000
    events_maxlen: int = 1_000_000
    # Must match the keepalive check's (realtime/camera_keepalive.py): same defaults.
    keepalive_timeout_seconds: float = KEEPALIVE_INTERVAL_SECONDS * KEEPALIVE_MISSED


@dataclass
class CameraStats:
    """Counters for heartbeats and tests."""

    updates: int = 0
    changes: int = 0
    alarms: int = 0
    rejected: int = 0


class CamerasConsumer:
    """One consumer in the `cameras` group of the cameras stream."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        names: StreamNames,
        consumer: str,
        settings: CameraSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._redis = redis
        self._names = names
        self._settings = settings or CameraSettings()
        self._script = redis.register_script(_APPLY)
        self._reader = GroupReader(
            redis,
            names.cameras,
            CAMERAS_GROUP,
            consumer,
            batch_size=self._settings.batch_size,
            block_ms=self._settings.block_ms,
        )
        self.stats = CameraStats()

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing."""
        await self._reader.ensure_group()

    async def process_once(self) -> int:
        """Read, apply and acknowledge one batch; return the entries handled."""
        return await self._reader.process(self.handle_batch)

    async def _sites(self, camera_ids: Sequence[str]) -> dict[str, CameraSite]:
        if not camera_ids:
            return {}
        values: Any = await self._redis.hmget(self._names.camera_sites, list(camera_ids))
        sites = {}
        for camera_id, value in zip(camera_ids, values, strict=True):
            if value:
                try:
                    sites[camera_id] = _site_decoder.decode(value)
                except msgspec.MsgspecError:
                    log.warning("camera site of %s is unreadable", camera_id)
        return sites

    async def handle_batch(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Apply a batch atomically (see the module docstring)."""
        decoded: list[tuple[bytes, CameraStatus | str, dict[bytes, bytes]]] = []
        causes: dict[bytes, CameraCause] = {}
        now = self._clock()
        for entry_id, fields in entries:
            try:
                causes[entry_id] = cause_of(fields)
                decoded.append((entry_id, decode_camera(fields, now), fields))
            except CameraRejected as exc:
                decoded.append((entry_id, str(exc), fields))
        cameras = sorted({s.camera_id for _, s, _ in decoded if isinstance(s, CameraStatus)})
        sites = await self._sites(cameras)
        args: list[Any] = [CAMERAS_GROUP, self._settings.events_maxlen, len(decoded)]
        alarms = rejected = updates = 0
        for entry_id, status, fields in decoded:
            if not isinstance(status, CameraStatus):
                args += ["d", entry_id, status, fields.get(DATA_FIELD, b"")]
                rejected += 1
                continue
            site = sites.get(status.camera_id)
            report = alarm_report(status, site)
            if status.alarm is not None and report is None:
                reason = "alarm has no location and the camera site is unknown"
                args += ["d", entry_id, reason, fields[DATA_FIELD]]
                rejected += 1
                continue
            at_ms = int(status.at.timestamp() * 1000)
            latest = CameraView(status.camera_id, status.status, status.at, at_ms)
            event = CameraStatusChanged(
                "event/1",
                status.at,
                actor_of(status.camera_id, causes[entry_id]),
                status.camera_id,
                status.status,
                _PREVIOUS_PLACEHOLDER,
                site.township_code if site is not None and site.township_code else None,
                causes[entry_id],
            )
            args += [
                "s",
                entry_id,
                status.camera_id,
                at_ms,
                msgspec.json.encode(latest),
                msgspec.json.encode(event),
                report or b"",
                1 if keepalive_watched(status.status, causes[entry_id]) else 0,
                at_ms - int(self._settings.keepalive_timeout_seconds * 1000)
                if causes[entry_id] == "keepalive_timeout"
                else "",
            ]
            updates += 1
            alarms += report is not None
        if not decoded:
            return
        changed: Any = await self._script(
            keys=[
                self._names.cameras_latest,
                self._names.events,
                self._names.intake,
                self._names.cameras_dead,
                self._names.cameras,
                self._names.cameras_seen,
            ],
            args=args,
        )
        self.stats.updates += updates
        self.stats.alarms += alarms
        self.stats.rejected += rejected
        self.stats.changes += int(changed)


async def latest_cameras(redis: aioredis.Redis, names: StreamNames) -> list[CameraView]:
    """Every camera's latest status, for a screen's first paint."""
    values: Any = await redis.hvals(names.cameras_latest)
    return [_view_decoder.decode(v) for v in values]


async def publish_camera_sites(
    redis: aioredis.Redis, names: StreamNames, cameras: Iterable[Camera]
) -> int:
    """Put the registry's cameras where alarms are placed and the bridge checks ids."""
    items = [
        (c.code, msgspec.json.encode(CameraSite(c.lon, c.lat, c.name, c.township_code)))
        for c in cameras
    ]
    for start in range(0, len(items), 5000):
        chunk: Any = dict(items[start : start + 5000])
        await redis.hset(names.camera_sites, mapping=chunk)
    return len(items)
