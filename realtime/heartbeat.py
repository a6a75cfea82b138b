"""Worker heartbeats: a key per live worker holding its counters, expiring when it dies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import redis.asyncio as aioredis

from realtime.streams import StreamNames


class WorkerHeartbeat(msgspec.Struct, frozen=True):
    """What a worker publishes about itself; counters only grow while the process lives."""

    consumer: str
    at: datetime
    started_at: datetime
    # What the process does: "ingest" (the intake consumer), "former" (forms cases), or both.
    roles: list[str] = msgspec.field(default_factory=lambda: ["ingest"])
    batches: int = 0
    accepted: int = 0
    formed: int = 0
    duplicates: int = 0
    rejected: int = 0
    published: int = 0
    claimed: int = 0
    poisoned: int = 0
    storage_errors: int = 0
    redis_errors: int = 0
    entry_errors: int = 0
    positions: int = 0
    positions_sampled: int = 0
    camera_updates: int = 0
    camera_alarms: int = 0
    # The case former's backlog as this worker last read it (the same table for all).
    unformed: int = 0
    unformed_since: datetime | None = None
    degraded: list[str] = msgspec.field(default_factory=list)


_decoder = msgspec.json.Decoder(WorkerHeartbeat)


async def write_heartbeat(
    redis: aioredis.Redis, names: StreamNames, beat: WorkerHeartbeat, ttl_seconds: int
) -> None:
    """Refresh this worker's key; it disappears ttl_seconds after the last refresh."""
    pipe = redis.pipeline(transaction=False)
    pipe.set(names.heartbeat(beat.consumer), msgspec.json.encode(beat), ex=ttl_seconds)
    # The index readers look in: a SCAN of the keyspace costs O(every key in Redis) per read.
    pipe.sadd(names.heartbeats, beat.consumer)
    await pipe.execute()


async def read_heartbeats(redis: aioredis.Redis, names: StreamNames) -> list[WorkerHeartbeat]:
    """Every live worker's last heartbeat (unreadable ones are skipped)."""
    members: Any = await redis.smembers(names.heartbeats)
    workers = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
    if not workers:
        return []
    keys = [names.heartbeat(worker) for worker in workers]
    values: Any = await redis.mget(keys)
    beats, gone = [], []
    for worker, value in zip(workers, values, strict=True):
        if not value:
            gone.append(worker)  # expired: the worker stopped beating
            continue
        try:
            beats.append(_decoder.decode(value))
        except msgspec.DecodeError:
            continue
    if gone:
        await redis.srem(names.heartbeats, *gone)
    return sorted(beats, key=lambda beat: beat.consumer)
