"""Trimming the consumed streams safely: never past an entry a consumer group still owes.

A stream read by a consumer group keeps every entry until trimmed. `trim_consumed` drops
only what the group has both delivered and acknowledged: everything older than its oldest
pending entry and than the first entry it has not delivered yet (`XTRIM MINID`), so no
unacknowledged or unread entry is ever lost. Dead-letter streams are capped instead
(`DEAD_LETTER_CAP`, approximately, at each XADD) and their length is alarmed in /metrics.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

# Dead letters kept per stream: enough for days of a misbehaving sender, bounded for a flood.
DEAD_LETTER_CAP = 100_000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def safe_minimum(last_delivered: str, oldest_pending: str | None) -> str:
    """The lowest id still owed: the oldest pending entry, else the one after the last read."""
    ms, seq = _key(last_delivered)
    after_delivered = f"{ms}-{seq + 1}"
    if oldest_pending is None:
        return after_delivered
    return min(oldest_pending, after_delivered, key=_key)


async def trim_consumed(redis: aioredis.Redis, stream: str, group: str) -> int:
    """Drop the entries `group` has delivered and acknowledged; return how many went."""
    try:
        groups: Any = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0  # no stream yet
    info = next((g for g in groups if _text(g["name"]) == group), None)
    if info is None or len(groups) != 1:
        return 0  # another group reads it too: its position is not ours to judge
    summary: Any = await redis.xpending(stream, group)
    oldest = _text(summary["min"]) if summary.get("pending") and summary.get("min") else None
    minimum = safe_minimum(_text(info["last-delivered-id"]), oldest)
    removed: Any = await redis.xtrim(stream, minid=minimum, approximate=False)
    return int(removed)
