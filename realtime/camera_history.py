"""Camera status history: every camera.status_changed event on the events stream, in PostgreSQL.

A consumer group of its own (`camera_history`) on the events stream rather than a write from
the cameras consumer: the cameras consumer's change is one Lua script in Redis, and a second
write to PostgreSQL beside it could not be atomic with it. Reading the published events
instead loses nothing: an entry is acknowledged only after its rows committed, a crash
leaves the batch pending for the next read, and the entry id as the key makes a redelivered
event one row. (The events stream is capped at about a million entries: a recorder stopped
long enough for that many events to pass would miss the oldest; /metrics shows its lag.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import msgspec
import redis.asyncio as aioredis

from incidents.store.camera_store import StatusChange, record_status_changes
from realtime.cameras import CameraStatusChanged
from realtime.group_reader import Entry, GroupReader
from realtime.outages import run_until_stopped
from realtime.stream_trim import DEAD_LETTER_CAP
from realtime.streams import CAMERA_HISTORY_GROUP, DATA_FIELD, StreamNames

log = logging.getLogger(__name__)

CHANGE_TYPE = "camera.status_changed"


class _Typed(msgspec.Struct):
    type: str = ""


_type_decoder = msgspec.json.Decoder(_Typed)
_change_decoder = msgspec.json.Decoder(CameraStatusChanged)


def change_of(entry_id: bytes, fields: dict[bytes, bytes]) -> StatusChange | None:
    """The status change an events entry carries, None for other events; raise on bad ones."""
    raw = fields.get(DATA_FIELD, b"")
    if _type_decoder.decode(raw).type != CHANGE_TYPE:
        return None
    event = _change_decoder.decode(raw)
    return StatusChange(
        entry_id.decode(),
        event.camera_id,
        event.at,
        event.status,
        event.previous,
        event.cause,
        event.actor,
    )


@dataclass
class HistoryStats:
    """Counters for heartbeats and tests."""

    recorded: int = 0
    skipped: int = 0
    rejected: int = 0


class CameraHistoryRecorder:
    """One consumer of the `camera_history` group on the events stream."""

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        *,
        names: StreamNames,
        consumer: str,
        batch_size: int = 500,
        block_ms: int = 1000,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._names = names
        self._reader = GroupReader(
            redis,
            names.events,
            CAMERA_HISTORY_GROUP,
            consumer,
            batch_size=batch_size,
            block_ms=block_ms,
        )
        self.stats = HistoryStats()

    async def ensure_group(self) -> None:
        """Create the consumer group (from the stream's start, so nothing is missed)."""
        await self._reader.ensure_group()

    async def process_once(self) -> int:
        """Record one batch and acknowledge it; return the entries handled."""
        return await self._reader.process(self.handle_batch)

    async def handle_batch(self, entries: Sequence[Entry]) -> None:
        """Store the batch's status changes, then acknowledge every entry of it."""
        if not entries:
            return
        changes: list[StatusChange] = []
        dead: list[tuple[bytes, str, dict[bytes, bytes]]] = []
        for entry_id, fields in entries:
            try:
                change = change_of(entry_id, fields)
            except msgspec.MsgspecError as exc:
                dead.append((entry_id, f"history: unreadable {CHANGE_TYPE}: {exc}", fields))
                continue
            if change is not None:
                changes.append(change)
        async with self._pool.acquire() as conn, conn.transaction():
            written = await record_status_changes(conn, changes)
        pipe = self._redis.pipeline(transaction=True)
        for entry_id, reason, fields in dead:
            pipe.xadd(
                self._names.cameras_dead,
                {"reason": reason, "entry_id": entry_id, "data": fields.get(DATA_FIELD, b"")},
                maxlen=DEAD_LETTER_CAP,
                approximate=True,
            )
        pipe.xack(self._names.events, CAMERA_HISTORY_GROUP, *[e for e, _ in entries])
        await pipe.execute()
        self.stats.recorded += written
        self.stats.skipped += len(changes) - written
        self.stats.rejected += len(dead)


async def run_camera_history(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    stop: asyncio.Event,
    *,
    consumer: str = "history-1",
) -> None:
    """Record camera status changes until `stop`; outages back off and resume."""
    recorder = CameraHistoryRecorder(redis, pool, names=names, consumer=consumer)

    async def step() -> None:
        await recorder.ensure_group()
        while not stop.is_set():
            await recorder.process_once()

    await run_until_stopped("camera history", step, stop)
