"""Putting committed events on the events stream with a record of what was published.

Every writer queues its XADDs with `queue_events` inside a MULTI, so the events and the
bits saying "event id n is out" commit together; the outbox drain skips ids whose bit is
set, which is what makes publishing exactly-once across crashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from incidents.case_store import PendingEvent
from realtime.streams import DATA_FIELD, StreamNames

_SHARD_BITS = 23  # one bitmap key per 8M event ids (1 MiB each)
_TTL_SECONDS = 7 * 24 * 3600


def queue_events(
    pipe: Any, names: StreamNames, events: Sequence[PendingEvent], maxlen: int
) -> None:
    """Queue the XADDs and the published bits on a (transactional) pipeline."""
    if not events:
        return
    shards: dict[int, list[str]] = {}
    for event in events:
        pipe.xadd(names.events, {DATA_FIELD: event.payload}, maxlen=maxlen, approximate=True)
        shard, offset = divmod(event.event_id, 1 << _SHARD_BITS)
        shards.setdefault(shard, []).extend(("SET", "u1", str(offset), "1"))
    for shard, ops in shards.items():
        pipe.execute_command("BITFIELD", names.published(shard), *ops)
        pipe.expire(names.published(shard), _TTL_SECONDS)


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
    """Put committed events on the stream with their published bits, in one MULTI."""
    if events:
        async with redis.pipeline(transaction=True) as pipe:
            queue_events(pipe, names, events, maxlen)
            await pipe.execute()
