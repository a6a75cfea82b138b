"""Publishing committed events on the events stream, for writers other than the ingest worker."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from incidents.store.case_store import PendingEvent
from realtime.publishing import publish_events
from realtime.streams import StreamNames


class RedisEventSink:
    """XADD each event in order, in one round trip (an `incidents.store.service.EventSink`)."""

    def __init__(self, redis: aioredis.Redis, names: StreamNames, maxlen: int = 1_000_000) -> None:
        self._redis = redis
        self._names = names
        self._maxlen = maxlen

    async def publish(self, events: Sequence[PendingEvent]) -> None:
        """Publish in order; raises if Redis is unreachable (the outbox keeps them)."""
        # With the published bits, so an outbox drain after a crash never repeats them.
        await publish_events(self._redis, self._names, events, self._maxlen)
