"""The case former: turns received reports into cases, in arrival order, then publishes.

Ingest workers acknowledge an entry once its report is durable in `intake_pending`; this
second stage opens or links cases from those rows. A former wakes on the note every ingest
worker adds to `intake:stored` with its acknowledgements (a blocking XREAD, so it may run in
any process), and looks every `poll_seconds` anyway, so rows stored by a worker that died
before its note are formed too.
Several formers take turns (an advisory lock in `form_pending`); the one holding the turn
forms everything pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as aioredis

from incidents.store.intake_store import Formed, form_pending
from incidents.store.outbox import mark_published
from incidents.store.pending_reports import backlog, intake_document, take_pending_rows
from realtime.outages import OUTAGES, run_until_stopped
from realtime.publishing import publish_events
from realtime.stream_trim import DEAD_LETTER_CAP
from realtime.streams import DATA_FIELD, StreamNames

log = logging.getLogger(__name__)


class CaseFormer:
    """Forms pending reports into cases and publishes their events."""

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        *,
        names: StreamNames,
        batch_size: int = 1000,
        poll_seconds: float = 1.0,
        events_maxlen: int = 1_000_000,
        storage_timeout_seconds: float = 30.0,
        backlog_every_seconds: float = 1.0,
        clock: Callable[[], datetime],
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._names = names
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._events_maxlen = events_maxlen
        self._storage_timeout = storage_timeout_seconds
        self._backlog_every = backlog_every_seconds
        self._last_backlog = -backlog_every_seconds
        self._clock = clock
        self._seen = b"0-0"  # the last wake-up note read
        self.stats = FormingStats()

    async def form_once(self) -> int:
        """Form up to a batch and publish its events; rows taken."""
        formed = await self._form_isolating()
        if formed.events:
            # Committed: from here a crash or an outage leaves the events to the outbox drain.
            await publish_events(self._redis, self._names, formed.events, self._events_maxlen)
            self.stats.published += len(formed.events)
            async with asyncio.timeout(self._storage_timeout), self._pool.acquire() as conn:
                await mark_published(conn, [e.event_id for e in formed.events])
        return formed.taken

    async def _form_isolating(self) -> Formed:
        """Form a batch; if it fails for a reason other than an outage, only the oldest row.

        A row that fails alone goes to the intake dead letters with the reason: one bad row
        must never stop every later report from forming.
        """
        try:
            return await self._form(self._batch_size)
        except OUTAGES:
            raise
        except Exception:
            log.exception("case formation failed; forming the oldest report alone")
        try:
            return await self._form(1)
        except OUTAGES:
            raise
        except Exception as exc:
            log.exception("the oldest pending report cannot form a case; dead-lettering it")
            taken = await self._dead_letter_oldest(f"case formation failed: {exc!r}")
            return Formed(taken, 0, [])

    async def _form(self, limit: int) -> Formed:
        """One formation transaction (nothing published yet)."""
        async with asyncio.timeout(self._storage_timeout), self._pool.acquire() as conn:
            formed = await form_pending(conn, limit)
        self.stats.formed += formed.fresh
        self.stats.repeats += formed.taken - formed.fresh
        return formed

    async def _dead_letter_oldest(self, reason: str) -> int:
        """Move the oldest pending report to the intake dead letters (before it leaves)."""
        async with (
            asyncio.timeout(self._storage_timeout),
            self._pool.acquire() as conn,
            conn.transaction(),
        ):
            taken = await take_pending_rows(conn, 1)
            for row in taken:
                await self._redis.xadd(
                    self._names.intake_dead,
                    {
                        b"reason": reason[:500].encode("utf-8", "replace"),
                        b"entry_id": str(row["source_id"]).encode("utf-8", "replace"),
                        b"stream": b"intake_pending",
                        b"rejected_at": self._clock().isoformat().encode(),
                        DATA_FIELD: msgspec.json.encode(intake_document(row)),
                    },
                    maxlen=DEAD_LETTER_CAP,
                    approximate=True,
                )
        self.stats.dead_lettered += len(taken)
        return len(taken)

    async def form_all(self) -> int:
        """Form until nothing is pending; rows taken."""
        total = 0
        while taken := await self.form_once():
            total += taken
            await self.refresh_backlog()  # during a flood too, not only once it is over
        return total

    async def refresh_backlog(self) -> None:
        """Re-read how many reports wait (at most once per `backlog_every_seconds`)."""
        now = time.monotonic()
        if now - self._last_backlog < self._backlog_every:
            return
        self._last_backlog = now
        async with asyncio.timeout(self._storage_timeout), self._pool.acquire() as conn:
            waiting = await backlog(conn)
        self.stats.unformed = waiting.reports
        self.stats.unformed_since = waiting.oldest_received_at

    async def wait_for_reports(self) -> None:
        """Return when an ingest worker says reports were stored, or after the poll interval."""
        response: Any = await self._redis.xread(
            {self._names.intake_stored: self._seen},
            count=1000,
            block=max(1, int(self._poll_seconds * 1000)),
        )
        if response:
            self._seen = response[0][1][-1][0]

    async def run(self, stop: asyncio.Event) -> None:
        """Form whenever reports are stored (or every poll interval) until `stop`.

        An outage (or a failing dead letter) pauses formation; the rows wait for the next try.
        """

        async def cycle() -> None:
            await self.form_all()
            await self.refresh_backlog()
            waiting = asyncio.ensure_future(self.wait_for_reports())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if waiting.done():
                waiting.result()  # an outage while waiting pauses like any other
            else:
                waiting.cancel()

        await run_until_stopped("case formation", cycle, stop)


@dataclass
class FormingStats:
    """Counters of one former, reported in its worker's heartbeat."""

    formed: int = 0
    repeats: int = 0
    published: int = 0
    dead_lettered: int = 0
    unformed: int = 0
    unformed_since: datetime | None = None
