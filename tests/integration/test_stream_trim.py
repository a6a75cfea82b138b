"""Trimming consumed streams on real Redis: what a group still owes is never dropped."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from realtime.stream_trim import safe_minimum, trim_consumed
from realtime.streams import StreamNames

pytestmark = pytest.mark.integration


def test_the_safe_minimum_is_the_oldest_owed_entry() -> None:
    """The oldest pending entry, or the one right after the last delivered."""
    assert safe_minimum("100-5", None) == "100-6"
    assert safe_minimum("100-5", "90-0") == "90-0"
    assert safe_minimum("100-5", "100-5") == "100-5"


async def test_only_delivered_and_acknowledged_entries_go(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """60 of 100 read, 50 acknowledged: the 10 pending and the 40 unread stay."""
    stream = names.intake
    ids = [await redis.xadd(stream, {"data": f"{n}"}) for n in range(100)]
    await redis.xgroup_create(stream, "ingest", id="0")
    read: Any = await redis.xreadgroup("ingest", "w1", {stream: ">"}, count=60)
    taken = [entry_id for entry_id, _ in read[0][1]]
    await redis.xack(stream, "ingest", *taken[:50])
    assert await trim_consumed(redis, stream, "ingest") == 50
    assert await redis.xlen(stream) == 50
    pending: Any = await redis.xpending_range(stream, "ingest", "-", "+", 100)
    assert [p["message_id"] for p in pending] == taken[50:]
    assert [e for e, _ in await redis.xrange(stream, count=1)] == [ids[50]]
    assert await trim_consumed(redis, stream, "ingest") == 0
    await redis.xack(stream, "ingest", *taken[50:])
    assert await trim_consumed(redis, stream, "ingest") == 10
    rest: Any = await redis.xreadgroup("ingest", "w1", {stream: ">"}, count=100)
    assert len(rest[0][1]) == 40, "nothing unread was lost"


async def test_a_stream_read_by_another_group_too_is_left_alone(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Another group's position is not ours to judge: nothing is trimmed."""
    stream = names.positions
    for n in range(10):
        await redis.xadd(stream, {"data": f"{n}"})
    for group in ("tracks", "audit-copy"):
        await redis.xgroup_create(stream, group, id="0")
    read: Any = await redis.xreadgroup("tracks", "w1", {stream: ">"}, count=10)
    await redis.xack(stream, "tracks", *[e for e, _ in read[0][1]])
    assert await trim_consumed(redis, stream, "tracks") == 0
    assert await redis.xlen(stream) == 10
    assert await trim_consumed(redis, names.cameras, "cameras") == 0  # no stream at all
