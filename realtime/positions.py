"""Unit positions (stream `positions`): validate fixes, keep the latest per unit, sample tracks.

Latest-wins per unit is decided inside Redis (a Lua script comparing fix times), so any
number of workers may consume the stream; the same script decides which fixes are due for
the PostgreSQL track history, at most one per unit per sampling interval.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
import redis.asyncio as aioredis

from incidents.store.tracks import TrackPoint, record_track_points
from realtime.group_reader import GroupReader
from realtime.stream_trim import DEAD_LETTER_CAP
from realtime.streams import DATA_FIELD, POSITIONS_GROUP, StreamNames

log = logging.getLogger(__name__)


class PositionRejected(ValueError):
    """A position message that breaks the contract; the message is the dead-letter reason."""


class PositionFix(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One fix as it arrives on the positions stream (speed in km/h, heading in degrees)."""

    unit_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    at: Annotated[datetime, msgspec.Meta(tz=True)]
    speed: Annotated[float, msgspec.Meta(ge=0.0, le=1000.0)] | None = None
    heading: Annotated[float, msgspec.Meta(ge=0.0, le=360.0)] | None = None


class UnitPosition(msgspec.Struct, frozen=True):
    """The latest position of a unit as stored in Redis and sent to screens."""

    unit_id: str
    lon: float
    lat: float
    at: str
    at_ms: int
    speed: float | None = None
    heading: float | None = None


# A unit as a compact row on the wire (live/1 `positions`): 2,000 moving units stay small.
UNIT_ROW_FIELDS: tuple[str, ...] = ("unit_id", "lon", "lat", "at_ms", "speed", "heading")
UnitRow = tuple[str, float, float, int, float | None, float | None]


def unit_row(unit: UnitPosition) -> UnitRow:
    """A unit as a compact row; 6 decimals of a degree are about 0.1 m."""
    return (
        unit.unit_id,
        round(unit.lon, 6),
        round(unit.lat, 6),
        unit.at_ms,
        unit.speed,
        unit.heading,
    )


_fix_decoder = msgspec.json.Decoder(PositionFix)
_unit_decoder = msgspec.json.Decoder(UnitPosition)
MAX_POSITION_BYTES = 1024


# A fix is only believed near the receiver's clock: one stamped far ahead would win
# latest-wins for good and freeze its unit on every map; one from long ago is stale.
MAX_AHEAD = timedelta(minutes=2)
MAX_BEHIND = timedelta(hours=24)


def implausible_time(at: datetime, now: datetime) -> str | None:
    """Why a stamped time cannot be believed at `now` (None: it can)."""
    if at - now > MAX_AHEAD:
        return f"time {at.isoformat()} is more than {MAX_AHEAD} ahead of the server's clock"
    if now - at > MAX_BEHIND:
        return f"time {at.isoformat()} is more than {MAX_BEHIND} old"
    return None


def decode_fix(fields: dict[bytes, bytes], now: datetime) -> PositionFix:
    """Validate a raw positions entry received at `now`; raise PositionRejected with the reason."""
    if set(fields) != {DATA_FIELD}:
        raise PositionRejected("entry must have exactly one field 'data'")
    raw = fields[DATA_FIELD]
    if len(raw) > MAX_POSITION_BYTES:
        raise PositionRejected(f"document is {len(raw)} bytes, larger than {MAX_POSITION_BYTES}")
    try:
        fix = _fix_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise PositionRejected(f"invalid: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PositionRejected(f"not JSON: {exc}") from None
    why = implausible_time(fix.at, now)
    if why is not None:
        raise PositionRejected(f"implausible: {why}")
    return fix


def to_unit_position(fix: PositionFix) -> UnitPosition:
    """The stored form: UTC time text plus epoch milliseconds for comparisons."""
    at = fix.at.astimezone(UTC)
    return UnitPosition(
        unit_id=fix.unit_id,
        lon=fix.lon,
        lat=fix.lat,
        at=at.isoformat(timespec="milliseconds"),
        at_ms=int(at.timestamp() * 1000),
        speed=fix.speed,
        heading=fix.heading,
    )


def decode_unit(raw: bytes) -> UnitPosition:
    """Read back a stored latest position."""
    return _unit_decoder.decode(raw)


def encode_unit(unit: UnitPosition) -> bytes:
    """The stored (and sent) JSON of a latest position."""
    return msgspec.json.encode(unit)


# KEYS: latest hash, sampled hash. ARGV: interval_ms, then (unit, at_ms, json) triples.
# Returns the 0-based indexes of triples that are due for the track history.
_LATEST_AND_DUE = """
local interval = tonumber(ARGV[1])
local due = {}
local n = 0
for i = 2, #ARGV, 3 do
  local unit, at, doc = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local current = redis.call('HGET', KEYS[1], unit)
  if (not current) or tonumber(cjson.decode(current)['at_ms']) < at then
    redis.call('HSET', KEYS[1], unit, doc)
  end
  local sampled = tonumber(redis.call('HGET', KEYS[2], unit) or '-1')
  if sampled < 0 or at - sampled >= interval then
    redis.call('HSET', KEYS[2], unit, at)
    due[#due + 1] = n
  end
  n = n + 1
end
return due
"""

StoreTracks = Callable[[Sequence[UnitPosition]], Awaitable[None]]


def store_tracks_in(pool: asyncpg.Pool) -> StoreTracks:
    """Write sampled positions to the PostgreSQL track history."""

    async def store(units: Sequence[UnitPosition]) -> None:
        points = [
            TrackPoint(
                unit_id=u.unit_id,
                at=datetime.fromtimestamp(u.at_ms / 1000, UTC),
                lon=u.lon,
                lat=u.lat,
                speed=u.speed,
                heading=u.heading,
            )
            for u in units
        ]
        async with pool.acquire() as conn:
            await record_track_points(conn, points)

    return store


@dataclass(frozen=True, slots=True)
class PositionSettings:
    """Tuning of the positions consumer."""

    batch_size: int = 1000
    block_ms: int = 1000
    sample_interval_seconds: float = 30.0


@dataclass
class PositionStats:
    """Counters for heartbeats and tests."""

    fixes: int = 0
    sampled: int = 0
    rejected: int = 0


class PositionsConsumer:
    """One consumer in the `tracks` group of the positions stream."""

    def __init__(
        self,
        redis: aioredis.Redis,
        store_tracks: StoreTracks,
        *,
        names: StreamNames,
        consumer: str,
        settings: PositionSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._redis = redis
        self._store_tracks = store_tracks
        self._names = names
        self._settings = settings or PositionSettings()
        self._script = redis.register_script(_LATEST_AND_DUE)
        self._reader = GroupReader(
            redis,
            names.positions,
            POSITIONS_GROUP,
            consumer,
            batch_size=self._settings.batch_size,
            block_ms=self._settings.block_ms,
        )
        self.stats = PositionStats()

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing."""
        await self._reader.ensure_group()

    async def process_once(self) -> int:
        """Read, apply and acknowledge one batch; return the entries handled."""
        return await self._reader.process(self.handle_batch)

    async def handle_batch(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Latest per unit in Redis, due fixes into PostgreSQL, then dead letters and acks."""
        units: list[UnitPosition] = []
        rejected: list[tuple[bytes, dict[bytes, bytes], str]] = []
        now = self._clock()
        for entry_id, fields in entries:
            if not fields:
                continue
            try:
                units.append(to_unit_position(decode_fix(fields, now)))
            except PositionRejected as exc:
                rejected.append((entry_id, fields, str(exc)))
        if units:
            args: list[Any] = [int(self._settings.sample_interval_seconds * 1000)]
            for unit in units:
                args += [unit.unit_id, unit.at_ms, encode_unit(unit)]
            due: Any = await self._script(
                keys=[self._names.units_latest, self._names.units_sampled], args=args
            )
            sampled = [units[int(i)] for i in due]
            if sampled:
                # Written before the ack: a crash re-applies them, and the table ignores repeats.
                await self._store_tracks(sampled)
            self.stats.fixes += len(units)
            self.stats.sampled += len(sampled)
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry_id, fields, reason in rejected:
                record: dict[bytes, bytes] = {b"reason": reason.encode(), b"entry_id": entry_id}
                record.update(
                    {b"field:" + k if k != DATA_FIELD else k: v for k, v in fields.items()}
                )
                pipe.xadd(
                    self._names.positions_dead,
                    record,  # type: ignore[arg-type]
                    maxlen=DEAD_LETTER_CAP,
                    approximate=True,
                )
            if entries:
                pipe.xack(self._names.positions, POSITIONS_GROUP, *(i for i, _ in entries))
            await pipe.execute()
        self.stats.rejected += len(rejected)


async def latest_positions(redis: aioredis.Redis, names: StreamNames) -> list[UnitPosition]:
    """Every unit's latest position, for a screen's first paint."""
    values: Any = await redis.hvals(names.units_latest)
    return [decode_unit(v) for v in values]
