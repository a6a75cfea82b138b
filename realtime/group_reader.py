"""Reading a stream as one consumer of a group: our own pending entries first, then new ones.

After a failure the entries we were handling stay pending on us; the next read returns them
again before anything new, so a batch is retried whole and in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

Entry = tuple[bytes, dict[bytes, bytes]]


class GroupReader:
    """One consumer's view of a stream in a consumer group."""

    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str,
        group: str,
        consumer: str,
        *,
        batch_size: int,
        block_ms: int,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._batch_size = batch_size
        self._block_ms = block_ms
        self._own_pending_first = True

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing."""
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self) -> list[Entry]:
        """Our pending entries if any (no wait), else new ones (waiting up to block_ms)."""
        if self._own_pending_first:
            entries = await self._read("0", block=None)
            if entries:
                return entries
            self._own_pending_first = False
        return await self._read(">", block=self._block_ms)

    async def process(self, handle: Callable[[Sequence[Entry]], Awaitable[None]]) -> int:
        """Read one batch and hand it to `handle`; if that fails, the batch comes back next."""
        entries = await self.read()
        try:
            await handle(entries)
        except BaseException:
            self._own_pending_first = True
            raise
        return len(entries)

    async def _read(self, start: str, block: int | None) -> list[Entry]:
        response: Any = await self._redis.xreadgroup(
            self._group,
            self._consumer,
            {self._stream: start},
            count=self._batch_size,
            block=block,
        )
        return list(response[0][1]) if response else []
