"""The ingest worker: intake stream → validate → locate → one PostgreSQL transaction → events → ack.

Order matters: an entry is acknowledged only after its transaction committed and its
events are on the events stream (or safely in the outbox), so nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from incidents import repository
from incidents.reports import AcceptedReport, JurisdictionPath
from realtime.intake_contract import IntakeRejected, IntakeReport, decode_intake
from realtime.streams import DATA_FIELD, INGEST_GROUP, StreamNames

log = logging.getLogger(__name__)

Locate = Callable[[float, float], JurisdictionPath]
Clock = Callable[[], datetime]
EntryId = bytes
Fields = dict[bytes, bytes]

_STORAGE_DOWN = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
_POISON = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


def utc_now() -> datetime:
    """The real clock, for production use only; tests pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Tuning of one ingest worker."""

    batch_size: int = 500
    block_ms: int = 1000
    events_maxlen: int = 1_000_000
    outbox_grace_seconds: float = 10.0
    outbox_every_seconds: float = 5.0
    heartbeat_seconds: int = 30
    max_backoff_seconds: float = 5.0


@dataclass
class IngestStats:
    """Counters a worker exposes for health and benchmarks."""

    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    published: int = 0
    storage_errors: int = 0


class IngestWorker:
    """One consumer in the ingest group; any number may run at once."""

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        locate: Locate,
        *,
        names: StreamNames,
        consumer: str,
        settings: IngestSettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._locate = locate
        self._names = names
        self._consumer = consumer
        self._settings = settings or IngestSettings()
        self._clock = clock
        self._read_own_pending = True
        self._last_outbox_check = 0.0
        self.stats = IngestStats()

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if they do not exist yet."""
        try:
            await self._redis.xgroup_create(self._names.intake, INGEST_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; storage or Redis outages back off and retry."""
        await self.ensure_group()
        backoff = 0.1
        while not stop.is_set():
            try:
                await self.process_once()
                await self._heartbeat()
                await self._maybe_drain_outbox()
                backoff = 0.1
            except (*_STORAGE_DOWN, *_REDIS_DOWN, asyncpg.PostgresError) as exc:
                self.stats.storage_errors += 1
                log.warning(
                    "ingest paused (%s: %s); retrying in %.1fs", type(exc).__name__, exc, backoff
                )
                # Entries stay pending; re-read our own pending list before new entries.
                self._read_own_pending = True
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self._settings.max_backoff_seconds)

    async def process_once(self) -> int:
        """Read one batch and carry it through to acknowledgement; return entries handled."""
        start_id = "0" if self._read_own_pending else ">"
        response: Any = await self._redis.xreadgroup(
            INGEST_GROUP,
            self._consumer,
            {self._names.intake: start_id},
            count=self._settings.batch_size,
            block=None if self._read_own_pending else self._settings.block_ms,
        )
        entries: list[tuple[EntryId, Fields]] = response[0][1] if response else []
        if self._read_own_pending and not entries:
            self._read_own_pending = False
            return 0
        # A pending entry already acked elsewhere comes back with no fields.
        live = [(entry_id, fields) for entry_id, fields in entries if fields]
        if live:
            await self.handle_batch(live)
        stale = [entry_id for entry_id, fields in entries if not fields]
        if stale:
            await self._redis.xack(self._names.intake, INGEST_GROUP, *stale)
        self.stats.batches += 1
        return len(entries)

    async def handle_batch(self, entries: Sequence[tuple[EntryId, Fields]]) -> None:
        """Validate, persist, publish, dead-letter, then acknowledge every entry of a batch."""
        now = self._clock()
        accepted: list[tuple[EntryId, Fields, AcceptedReport]] = []
        rejected: list[tuple[EntryId, Fields, str]] = []
        for entry_id, fields in entries:
            try:
                report = decode_intake(fields)
            except IntakeRejected as exc:
                rejected.append((entry_id, fields, str(exc)))
                continue
            accepted.append((entry_id, fields, self._accept(report, now)))
        stored_rejects = await self._persist(accepted)
        rejected.extend(stored_rejects)
        if rejected:
            await self._dead_letter(rejected)
        await self._redis.xack(
            self._names.intake, INGEST_GROUP, *(entry_id for entry_id, _ in entries)
        )

    def _accept(self, report: IntakeReport, now: datetime) -> AcceptedReport:
        place = self._locate(report.location.lon, report.location.lat)
        reporter = report.reporter
        return AcceptedReport(
            source_id=report.source_id,
            channel=report.channel,
            category=report.category,
            severity=report.effective_severity,
            summary=report.summary,
            lon=report.location.lon,
            lat=report.location.lat,
            address=report.location.address,
            reporter_name=reporter.name if reporter else None,
            reporter_phone=reporter.phone if reporter else None,
            reported_at=report.reported_at,
            received_at=now,
            place=place,
        )

    async def _persist(
        self, accepted: Sequence[tuple[EntryId, Fields, AcceptedReport]]
    ) -> list[tuple[EntryId, Fields, str]]:
        """Store the batch; if the database refuses it, isolate the entries it refuses."""
        if not accepted:
            return []
        reports = [report for _, _, report in accepted]
        try:
            await self._store_and_publish(reports)
        except _POISON as exc:
            # Only errors about the data itself isolate entries; anything else (a broken
            # schema, a lost connection) must leave the entries pending, never dead-letter them.
            if len(accepted) == 1:
                entry_id, fields, _ = accepted[0]
                reason = f"storage refused the report: {type(exc).__name__}: {exc}"
                return [(entry_id, fields, reason)]
            log.warning("batch refused by storage (%s); retrying entry by entry", exc)
            refused: list[tuple[EntryId, Fields, str]] = []
            for item in accepted:
                refused.extend(await self._persist([item]))
            return refused
        self.stats.accepted += len(reports)
        return []

    async def _store_and_publish(self, reports: Sequence[AcceptedReport]) -> None:
        async with self._pool.acquire() as conn:
            pending = await repository.record_reports(conn, reports)
            self.stats.duplicates += len({r.source_id for r in reports}) - len(pending)
            await self._publish(pending)
            await repository.mark_published(conn, [event.event_id for event in pending])

    async def _publish(self, events: Sequence[repository.PendingEvent]) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    self._names.events,
                    {DATA_FIELD: event.payload},
                    maxlen=self._settings.events_maxlen,
                    approximate=True,
                )
            await pipe.execute()
        self.stats.published += len(events)

    async def _dead_letter(self, rejected: Sequence[tuple[EntryId, Fields, str]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, fields, reason in rejected:
                record: dict[bytes, bytes] = {
                    b"reason": reason.encode("utf-8"),
                    b"entry_id": entry_id,
                    b"stream": self._names.intake.encode(),
                    b"rejected_at": self._clock().isoformat().encode(),
                }
                for name, value in fields.items():
                    # The original bytes under their own name; other fields kept beside them.
                    key = DATA_FIELD if name == DATA_FIELD else b"field:" + name
                    record[key] = value
                pipe.xadd(self._names.intake_dead, record)  # type: ignore[arg-type]
            await pipe.execute()
        self.stats.rejected += len(rejected)

    async def _heartbeat(self) -> None:
        await self._redis.set(
            self._names.heartbeat(self._consumer),
            json.dumps({"at": self._clock().isoformat(), **self.stats.__dict__}),
            ex=self._settings.heartbeat_seconds,
        )

    async def _maybe_drain_outbox(self) -> None:
        """Publish events a crashed worker committed but never published."""
        if time.monotonic() - self._last_outbox_check < self._settings.outbox_every_seconds:
            return
        self._last_outbox_check = time.monotonic()
        await self.drain_outbox(self._settings.outbox_grace_seconds)

    async def drain_outbox(self, older_than_seconds: float) -> int:
        """Publish and clear outbox events older than the grace period; return how many."""
        async with self._pool.acquire() as conn, conn.transaction():
            pending = await repository.claim_unpublished(conn, older_than_seconds)
            await self._publish(pending)
            await repository.mark_published(conn, [event.event_id for event in pending])
        return len(pending)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
