"""Putting committed events on the events stream with a record of what was published.

Every writer queues its events with `queue_events`: one Lua script adds each event and then
sets the bit saying "event id n is out", in order, and stops at the first failure. A MULTI
alone would not do: Redis runs the rest of a transaction after a command fails (an XADD
refused with WRONGTYPE, say), which would set bits for events that never went out, and the
outbox drain, which skips ids whose bit is set, would then lose them. With the script a bit
is set only for an event on the stream, which is what makes publishing exactly-once across
crashes and failures.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from incidents.store.case_store import PendingEvent
from incidents.store.outbox import claim_unpublished, mark_published
from realtime.streams import DATA_FIELD, StreamNames

log = logging.getLogger(__name__)

_SHARD_BITS = 23  # one bitmap key per 8M event ids (1 MiB each)
_TTL_SECONDS = 7 * 24 * 3600


# KEYS: the events stream, then the bitmap shards. ARGV: maxlen, ttl, the data field name,
# then (shard's index among KEYS, bit offset, payload) per event, in order.
_PUBLISH = """
local stream, maxlen, ttl, field = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV, 3 do
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', field, ARGV[i + 2])
  redis.call('SETBIT', KEYS[tonumber(ARGV[i])], ARGV[i + 1], 1)
end
for k = 2, #KEYS do
  redis.call('EXPIRE', KEYS[k], ttl)
end
return (#ARGV - 3) / 3
"""


def queue_events(
    pipe: Any, names: StreamNames, events: Sequence[PendingEvent], maxlen: int
) -> None:
    """Queue the events and their published bits (one script) on a pipeline."""
    if not events:
        return
    keys = [names.events]
    shard_keys: dict[int, int] = {}
    args: list[Any] = [maxlen, _TTL_SECONDS, DATA_FIELD]
    for event in events:
        shard, offset = divmod(event.event_id, 1 << _SHARD_BITS)
        if shard not in shard_keys:
            keys.append(names.published(shard))
            shard_keys[shard] = len(keys)  # Lua indexes KEYS from 1
        args += [shard_keys[shard], offset, event.payload]
    pipe.eval(_PUBLISH, len(keys), *keys, *args)


async def already_published(
    redis: aioredis.Redis, names: StreamNames, event_ids: Sequence[int]
) -> set[int]:
    """The ids among these whose events are already on the stream."""
    if not event_ids:
        return set()
    async with redis.pipeline(transaction=False) as pipe:
        for event_id in event_ids:
            shard, offset = divmod(event_id, 1 << _SHARD_BITS)
            pipe.getbit(names.published(shard), offset)
        bits = await pipe.execute()
    return {event_id for event_id, bit in zip(event_ids, bits, strict=True) if bit}


async def publish_events(
    redis: aioredis.Redis, names: StreamNames, events: Sequence[PendingEvent], maxlen: int
) -> None:
    """Put committed events on the stream with their published bits (one script)."""
    if events:
        async with redis.pipeline(transaction=False) as pipe:
            queue_events(pipe, names, events, maxlen)
            await pipe.execute()


async def drain_outbox(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    *,
    older_than_seconds: float,
    storage_timeout_seconds: float,
    maxlen: int,
) -> tuple[int, int]:
    """Publish outbox events a crashed writer left behind, skipping those it did publish.

    One drainer at a time (a Redis lock). Returns (outbox events seen, events published).
    """
    token = uuid.uuid4().hex.encode()
    lock_ms = int(storage_timeout_seconds * 1000) + 5000
    if not await redis.set(names.outbox_lock, token, nx=True, px=lock_ms):
        return 0, 0  # another worker is draining right now
    try:
        async with (
            asyncio.timeout(storage_timeout_seconds),
            pool.acquire() as conn,
            conn.transaction(),
        ):
            pending = await claim_unpublished(conn, older_than_seconds)
            if not pending:
                return 0, 0
            published = await already_published(redis, names, [e.event_id for e in pending])
            fresh = [e for e in pending if e.event_id not in published]
            await publish_events(redis, names, fresh, maxlen)
            await mark_published(conn, [e.event_id for e in pending])
        if fresh:
            log.info("published %d events from the outbox", len(fresh))
        return len(pending), len(fresh)
    finally:
        if await redis.get(names.outbox_lock) == token:
            await redis.delete(names.outbox_lock)
