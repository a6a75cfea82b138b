"""The ingest worker: intake stream → validate → locate → durable in PostgreSQL → ack.

An entry is acknowledged only after its report is committed to `intake_pending`; the case
former (`realtime.forming`) then turns those rows into cases and publishes their events, so
a flood of calls is on disk at the rate Redis delivers it even while cases form behind it.
Dead letters and acknowledgements of a batch go to Redis in one MULTI. Events committed but
not yet published wait in the outbox; a bitmap of published event ids lets the outbox drain
(run here) skip what a crashed former did publish. Entries left pending by a dead worker are
claimed (XAUTOCLAIM) after an idle timeout and re-applied idempotently (the source_id key);
an entry delivered too often is poison and goes to the dead letters with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from incidents.reports import AcceptedReport, Located
from incidents.store.case_store import PendingEvent
from incidents.store.pending_reports import receive_reports
from realtime.degraded import Component, DegradedStatus, announce_degraded, announce_recovered
from realtime.heartbeat import WorkerHeartbeat, write_heartbeat
from realtime.intake_contract import IntakeRejected, IntakeReport, decode_intake
from realtime.outages import OUTAGES, REDIS_DOWN, STORAGE_DOWN, Backoff
from realtime.publishing import drain_outbox, queue_events
from realtime.settings import tuning_from_env
from realtime.stream_trim import DEAD_LETTER_CAP, trim_consumed
from realtime.streams import (
    CAMERAS_GROUP,
    DATA_FIELD,
    INGEST_GROUP,
    POSITIONS_GROUP,
    TERMINALS_GROUP,
    StreamNames,
)

log = logging.getLogger(__name__)

Locate = Callable[[float, float], Located]
Clock = Callable[[], datetime]
EntryId = bytes
Fields = dict[bytes, bytes]
Entry = tuple[EntryId, Fields]

# Errors about one report's content: isolating the report and dead-lettering it is right.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    UnicodeError,
)


class EntriesFailed(Exception):
    """Some entries failed for an unexplained reason and stay pending for another try."""


def utc_now() -> datetime:
    """The real clock, for production use only; tests pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Tuning of one ingest worker."""

    batch_size: int = 500
    block_ms: int = 1000
    # After a partial batch, the next read waits until this long after the last one began:
    # reports arriving one by one are taken a few at a time, because each batch has a fixed
    # cost (a COPY, a Redis MULTI, and the former's transaction) that dominates at a steady rate.
    linger_ms: int = 0
    # Batches being stored at once while the next is read (each holds a pool connection).
    commits_in_flight: int = 2
    # The case former: reports per transaction, and how often it looks without being woken.
    form_batch_size: int = 1000
    form_poll_seconds: float = 1.0
    # A former process of its own runs this much nicer than intake (os.nice): when CPU is
    # short, acknowledging calls and pushing to screens come first, forming cases next.
    former_niceness: int = 10
    events_maxlen: int = 1_000_000
    outbox_grace_seconds: float = 10.0
    outbox_every_seconds: float = 5.0
    heartbeat_seconds: int = 30
    heartbeat_every_seconds: float = 1.0
    min_backoff_seconds: float = 0.1
    max_backoff_seconds: float = 5.0
    claim_idle_ms: int = 30_000
    claim_every_seconds: float = 5.0
    # Consumed entries of the grouped streams are trimmed this often (never an owed one).
    trim_every_seconds: float = 30.0
    max_deliveries: int = 10
    storage_timeout_seconds: float = 30.0
    forget_consumer_after_ms: int = 3_600_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IngestSettings:
        """Read PINGAN_INGEST_<FIELD> variables (e.g. PINGAN_INGEST_CLAIM_IDLE_MS=30000)."""
        return tuning_from_env(cls, "PINGAN_INGEST_", env)


@dataclass
class IngestStats:
    """Counters a worker exposes for health and benchmarks."""

    batches: int = 0
    accepted: int = 0
    rejected: int = 0
    published: int = 0
    claimed: int = 0
    poisoned: int = 0
    storage_errors: int = 0
    redis_errors: int = 0
    entry_errors: int = 0
    store_seconds: float = 0.0
    publish_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class SideCounters:
    """Counters of the positions and cameras consumers sharing this worker's process."""

    positions: int = 0
    positions_sampled: int = 0
    camera_updates: int = 0
    camera_alarms: int = 0
    formed: int = 0
    repeats: int = 0
    published: int = 0
    unformed: int = 0
    unformed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A checked batch: reports to store, entries to dead-letter, entries to acknowledge."""

    accepted: list[tuple[EntryId, Fields, AcceptedReport]]
    rejected: list[tuple[EntryId, Fields, str]]
    acks: list[EntryId]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What storing a batch produced: rejects, and entries to retry."""

    rejected: list[tuple[EntryId, Fields, str]]
    failed: list[EntryId]


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
        side_counters: Callable[[], SideCounters] | None = None,
        after_store: Callable[[], Awaitable[Any]] | None = None,
        roles: Sequence[str] = ("ingest",),
    ) -> None:
        self._roles = list(roles)
        # Called once a batch's reports are durable and acknowledged: wakes (or, in tests,
        # runs) the case former.
        self._after_store = after_store
        self._side_counters = side_counters
        self._redis = redis
        self._pool = pool
        self._locate = locate
        self._names = names
        self._consumer = consumer
        self._settings = settings or IngestSettings()
        self._clock = clock
        self._read_own_pending = True
        self._in_flight: list[asyncio.Task[None]] = []  # batches being stored, oldest first
        self._last_read = 0.0
        self._linger_next = False  # the last read of new entries got some, but not a batch
        self._last_outbox_check = 0.0
        self._last_claim = 0.0
        self._last_trim = 0.0
        self._last_heartbeat = 0.0
        self._claim_cursor = "0-0"
        self._outages: dict[Component, DegradedStatus] = {}
        self._started_at = clock()
        self.stats = IngestStats()

    @property
    def consumer(self) -> str:
        """This worker's consumer name in the group."""
        return self._consumer

    @property
    def degraded(self) -> list[DegradedStatus]:
        """Outages this worker is currently riding out."""
        return list(self._outages.values())

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if they do not exist yet."""
        try:
            await self._redis.xgroup_create(self._names.intake, INGEST_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; outages stop reading, back off, and are announced."""
        backoff = Backoff(self._settings.min_backoff_seconds, self._settings.max_backoff_seconds)
        while not stop.is_set():
            try:
                await self._recover_if_possible()
                await self._pipelined_step()
                await self.periodic()
                backoff.reset()
                continue
            except REDIS_DOWN as exc:
                self.stats.redis_errors += 1
                await self._degrade("redis", exc)
            except STORAGE_DOWN as exc:
                # Checked after Redis: redis-py wraps socket errors in its own classes, so a
                # bare OSError or TimeoutError here comes from PostgreSQL or its time limit.
                self.stats.storage_errors += 1
                await self._degrade("storage", exc)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis came back without our group (no persistence): recreate and carry on.
                log.warning("consumer group missing; recreating it")
                await self.ensure_group()
                continue
            except EntriesFailed as exc:
                log.warning("%s; retrying in %.1fs", exc, backoff.current)
            await self._settle_in_flight()
            # Entries stay pending; re-read our own pending list before new entries.
            self._read_own_pending = True
            await backoff.wait(stop)
        await self._settle_in_flight()

    async def _pipelined_step(self) -> None:
        """Read and check the next batch while earlier ones are being stored.

        Storing a batch is mostly waiting for PostgreSQL (the COPY, then the flush of its
        commit); reading, validating and locating the next one meanwhile keeps both busy.
        Acknowledgement order does not matter, and a batch that fails stays pending like any
        other, so this changes only the speed.
        """
        read = await self._read()
        if read is None:
            await self._settle_in_flight(raise_errors=True)
            return
        entries, redelivered = read
        batch = await self._prepare(entries, redelivered=redelivered)
        await self._settle_in_flight(raise_errors=True, keep=self._settings.commits_in_flight - 1)
        self._in_flight.append(asyncio.create_task(self._commit(batch), name="intake-commit"))

    async def _settle_in_flight(self, *, raise_errors: bool = False, keep: int = 0) -> None:
        """Wait until at most `keep` batches are being stored; raise or log their errors."""
        while len(self._in_flight) > keep:
            task = self._in_flight.pop(0)
            if raise_errors:
                await task
                continue
            try:
                await task
            except Exception as exc:
                log.warning("intake batch failed while another error was handled: %r", exc)

    async def periodic(self) -> None:
        """Heartbeat, claim entries of dead consumers, drain the outbox: each when it is due."""
        now = time.monotonic()
        if now - self._last_heartbeat >= self._settings.heartbeat_every_seconds:
            self._last_heartbeat = now
            await self.heartbeat()
        if now - self._last_claim >= self._settings.claim_every_seconds:
            self._last_claim = now
            await self._guarded(self.claim_abandoned())
        if now - self._last_trim >= self._settings.trim_every_seconds:
            self._last_trim = now
            await self._guarded(self.trim_streams())
        if now - self._last_outbox_check >= self._settings.outbox_every_seconds:
            self._last_outbox_check = now
            await self._guarded(self.drain_outbox(self._settings.outbox_grace_seconds))

    async def _guarded(self, chore: Awaitable[int]) -> None:
        """Outages propagate (they pause the worker); any other failure of a chore is logged."""
        try:
            await chore
        except OUTAGES:
            raise
        except EntriesFailed:
            raise
        except Exception:
            self.stats.entry_errors += 1
            log.exception("periodic ingest chore failed; will retry")

    async def process_once(self) -> int:
        """Read one batch and carry it through to acknowledgement; return entries handled."""
        read = await self._read()
        if read is None:
            return 0
        entries, redelivered = read
        await self._commit(await self._prepare(entries, redelivered=redelivered))
        return len(entries)

    async def _read(self) -> tuple[list[Entry], bool] | None:
        """The next batch (own pending entries first, after a start or an error), if any."""
        redelivered = self._read_own_pending
        if self._linger_next and not redelivered:
            pause = self._last_read + self._settings.linger_ms / 1000 - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
        self._last_read = time.monotonic()
        response: Any = await self._redis.xreadgroup(
            INGEST_GROUP,
            self._consumer,
            {self._names.intake: "0" if redelivered else ">"},
            count=self._settings.batch_size,
            block=None if redelivered else self._settings.block_ms,
        )
        entries: list[Entry] = response[0][1] if response else []
        self._linger_next = (
            bool(self._settings.linger_ms)
            and not redelivered
            and 0 < len(entries) < self._settings.batch_size
        )
        if redelivered and not entries:
            self._read_own_pending = False
            return await self._read()
        return (entries, redelivered) if entries else None

    async def trim_streams(self) -> int:
        """Trim what every consumer group has delivered and acknowledged; entries removed."""
        removed = 0
        for stream, group in (
            (self._names.intake, INGEST_GROUP),
            (self._names.positions, POSITIONS_GROUP),
            (self._names.cameras, CAMERAS_GROUP),
            (self._names.terminal_inbox, TERMINALS_GROUP),
        ):
            removed += await trim_consumed(self._redis, stream, group)
        return removed

    async def claim_abandoned(self) -> int:
        """Take over entries idle on other consumers (dead workers) and apply them; return count."""
        total = 0
        for _ in range(20):  # bounded work per tick; the cursor remembers where we stopped
            response: Any = await self._redis.xautoclaim(
                self._names.intake,
                INGEST_GROUP,
                self._consumer,
                min_idle_time=self._settings.claim_idle_ms,
                start_id=self._claim_cursor,
                count=self._settings.batch_size,
            )
            cursor, entries = response[0], response[1]
            self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
            if entries:
                self.stats.claimed += len(entries)
                log.info("claimed %d abandoned intake entries", len(entries))
                await self._handle(entries, redelivered=True)
                total += len(entries)
            if self._claim_cursor == "0-0":
                break
        await self._forget_idle_consumers()
        return total

    async def _forget_idle_consumers(self) -> None:
        """Drop consumers of long-dead workers that hold nothing, so the group stays readable."""
        consumers: Any = await self._redis.xinfo_consumers(self._names.intake, INGEST_GROUP)
        for consumer in consumers:
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            idle = int(consumer.get("inactive", consumer.get("idle", 0)) or 0)
            if (
                name != self._consumer
                and int(consumer["pending"]) == 0
                and idle > self._settings.forget_consumer_after_ms
            ):
                await self._redis.xgroup_delconsumer(self._names.intake, INGEST_GROUP, name)

    async def _handle(self, entries: Sequence[Entry], *, redelivered: bool) -> None:
        await self._commit(await self._prepare(entries, redelivered=redelivered))

    async def _prepare(self, entries: Sequence[Entry], *, redelivered: bool) -> _Prepared:
        """Screen poison (on redelivery), validate and locate: everything before storage."""
        # A pending entry deleted from the stream comes back with no fields: just acknowledge it.
        live = [(entry_id, fields) for entry_id, fields in entries if fields]
        stale = [entry_id for entry_id, fields in entries if not fields]
        poison: list[tuple[EntryId, Fields, str]] = []
        if redelivered and live:
            live, poison = await self._screen_poison(live)
        return self._check(live, extra_rejects=poison, extra_acks=stale)

    async def _screen_poison(
        self, entries: list[Entry]
    ) -> tuple[list[Entry], list[tuple[EntryId, Fields, str]]]:
        """Split redelivered entries into those to retry and those delivered too often."""
        limit = self._settings.max_deliveries
        details: Any = await self._redis.xpending_range(
            self._names.intake,
            INGEST_GROUP,
            min=entries[0][0],
            max=entries[-1][0],
            count=len(entries) * 4 + 100,
            consumername=self._consumer,
        )
        deliveries = {d["message_id"]: int(d["times_delivered"]) for d in details}
        poisoned = [(i, f) for i, f in entries if deliveries.get(i, 1) > limit]
        if not poisoned:
            return entries, []
        errors: Any = await self._redis.hmget(self._names.intake_errors, [i for i, _ in poisoned])
        rejects = []
        for (entry_id, fields), error in zip(poisoned, errors, strict=True):
            reason = f"poison: delivered {deliveries[entry_id]} times (max {limit}) without success"
            if error:
                reason += f"; last error: {error.decode('utf-8', 'replace')}"
            rejects.append((entry_id, fields, reason))
        self.stats.poisoned += len(rejects)
        dead = {entry_id for entry_id, _, _ in rejects}
        return [(i, f) for i, f in entries if i not in dead], rejects

    def _check(
        self,
        entries: Sequence[Entry],
        *,
        extra_rejects: Sequence[tuple[EntryId, Fields, str]] = (),
        extra_acks: Sequence[EntryId] = (),
    ) -> _Prepared:
        """Validate and locate a batch: what to store, what to dead-letter, what to ack."""
        now = self._clock()
        rejected: list[tuple[EntryId, Fields, str]] = list(extra_rejects)
        valid: list[tuple[EntryId, Fields, IntakeReport]] = []
        for entry_id, fields in entries:
            try:
                valid.append((entry_id, fields, decode_intake(fields)))
            except IntakeRejected as exc:
                rejected.append((entry_id, fields, str(exc)))
        accepted: list[tuple[EntryId, Fields, AcceptedReport]] = []
        for (entry_id, fields, report), place in zip(valid, self._places(valid), strict=True):
            if isinstance(place, Exception):
                # A locator failing on some exotic point must not stop the worker.
                log.error("could not place entry %r: %r", entry_id, place)
                rejected.append((entry_id, fields, f"could not place the report: {place!r}"))
            else:
                accepted.append((entry_id, fields, accept_at(report, place, now)))
        acks = [entry_id for entry_id, _ in entries]
        acks += [entry_id for entry_id, _, _ in extra_rejects]
        acks += extra_acks
        return _Prepared(accepted, rejected, acks)

    async def _commit(self, batch: _Prepared) -> None:
        """Store the accepted reports, then dead letters + acks (+ the formers' note)."""
        outcome = await self._persist(batch.accepted)
        rejected = batch.rejected + outcome.rejected
        failed = set(outcome.failed)
        acks = [entry_id for entry_id in batch.acks if entry_id not in failed]
        stored = len(batch.accepted) - len(outcome.rejected) - len(failed)
        await self._publish_and_ack([], rejected, acks, stored=stored)
        self.stats.batches += 1
        if stored and self._after_store is not None:
            await self._after_store()
        if failed:
            raise EntriesFailed(f"{len(failed)} intake entries failed and stay pending")

    def _places(
        self, valid: Sequence[tuple[EntryId, Fields, IntakeReport]]
    ) -> list[Located | Exception]:
        """Each report's place: one batch lookup when the locator has one, else one by one."""
        many = getattr(self._locate, "many", None)
        if many is not None and valid:
            try:
                found: list[Located] = many(
                    [r.location.lon for _, _, r in valid], [r.location.lat for _, _, r in valid]
                )
                return list(found)
            except Exception:
                log.warning("batch placement failed; placing the batch one by one", exc_info=True)
        places: list[Located | Exception] = []
        for _, _, report in valid:
            try:
                places.append(self._locate(report.location.lon, report.location.lat))
            except Exception as exc:
                places.append(exc)
        return places

    @contextlib.asynccontextmanager
    async def _storage(self) -> AsyncIterator[Any]:
        """A pooled connection; a slow database raises TimeoutError like an absent one."""
        async with asyncio.timeout(self._settings.storage_timeout_seconds):
            async with self._pool.acquire() as conn:
                yield conn

    async def _persist(
        self, accepted: Sequence[tuple[EntryId, Fields, AcceptedReport]]
    ) -> _Outcome:
        """Store the batch; if the database refuses it, isolate the entries it refuses."""
        if not accepted:
            return _Outcome([], [])
        reports = [report for _, _, report in accepted]
        started = time.perf_counter()
        try:
            async with self._storage() as conn:
                await receive_reports(conn, reports)
        except OUTAGES:
            raise
        except Exception as exc:
            if len(accepted) > 1:
                log.warning("batch refused by storage (%r); retrying entry by entry", exc)
                merged = _Outcome([], [])
                for item in accepted:
                    part = await self._persist([item])
                    merged.rejected.extend(part.rejected)
                    merged.failed.extend(part.failed)
                return merged
            entry_id, fields, _ = accepted[0]
            reason = f"storage refused the report: {type(exc).__name__}: {exc}"
            if isinstance(exc, _DATA_ERRORS):
                return _Outcome([(entry_id, fields, reason)], [])
            # Not clearly about this report (a bug, a broken schema): retry it later; the
            # delivery count turns it into a dead letter if it keeps failing.
            log.exception("intake entry %r failed", entry_id)
            self.stats.entry_errors += 1
            await self._redis.hset(self._names.intake_errors, entry_id, reason[:500])
            return _Outcome([], [entry_id])
        self.stats.store_seconds += time.perf_counter() - started
        self.stats.accepted += len(reports)
        return _Outcome([], [])

    async def _publish_and_ack(
        self,
        events: Sequence[PendingEvent],
        rejected: Sequence[tuple[EntryId, Fields, str]],
        acks: Sequence[EntryId],
        *,
        stored: int = 0,
    ) -> None:
        """Events with their bits, dead letters, acks, formers' wake-up: one MULTI/EXEC."""
        if not (events or rejected or acks):
            return
        started = time.perf_counter()
        async with self._redis.pipeline(transaction=True) as pipe:
            queue_events(pipe, self._names, events, self._settings.events_maxlen)
            if stored > 0:
                pipe.xadd(
                    self._names.intake_stored,
                    {b"reports": str(stored).encode()},
                    maxlen=1000,
                    approximate=True,
                )
            for entry_id, fields, reason in rejected:
                pipe.xadd(
                    self._names.intake_dead,
                    self._dead_letter(entry_id, fields, reason),  # type: ignore[arg-type]
                    maxlen=DEAD_LETTER_CAP,
                    approximate=True,
                )
            if acks:
                pipe.xack(self._names.intake, INGEST_GROUP, *acks)
            poisoned = [entry_id for entry_id, _, reason in rejected if reason.startswith("poison")]
            if poisoned:
                pipe.hdel(self._names.intake_errors, *poisoned)
            await pipe.execute()
        self.stats.publish_seconds += time.perf_counter() - started
        self.stats.published += len(events)
        self.stats.rejected += len(rejected)

    def _dead_letter(self, entry_id: EntryId, fields: Fields, reason: str) -> dict[bytes, bytes]:
        record: dict[bytes, bytes] = {
            b"reason": reason.encode("utf-8", "replace"),
            b"entry_id": entry_id,
            b"stream": self._names.intake.encode(),
            b"rejected_at": self._clock().isoformat().encode(),
        }
        for name, value in fields.items():
            # The original bytes under their own name; other fields kept beside them.
            key = DATA_FIELD if name == DATA_FIELD else b"field:" + name
            record[key] = value
        return record

    async def heartbeat(self) -> None:
        """Tell health checks and metrics this worker is alive, with its counters."""
        stats = self.stats
        side = self._side_counters() if self._side_counters else SideCounters()
        beat = WorkerHeartbeat(
            consumer=self._consumer,
            at=self._clock(),
            started_at=self._started_at,
            roles=self._roles,
            batches=stats.batches,
            accepted=stats.accepted,
            formed=side.formed,
            duplicates=side.repeats,
            rejected=stats.rejected,
            published=stats.published + side.published,
            claimed=stats.claimed,
            poisoned=stats.poisoned,
            storage_errors=stats.storage_errors,
            redis_errors=stats.redis_errors,
            entry_errors=stats.entry_errors,
            positions=side.positions,
            positions_sampled=side.positions_sampled,
            camera_updates=side.camera_updates,
            camera_alarms=side.camera_alarms,
            unformed=side.unformed,
            unformed_since=side.unformed_since,
            degraded=sorted(self._outages),
        )
        await write_heartbeat(self._redis, self._names, beat, self._settings.heartbeat_seconds)

    async def drain_outbox(self, older_than_seconds: float) -> int:
        """Publish outbox events a crashed writer left behind; return outbox events seen."""
        seen, sent = await drain_outbox(
            self._redis,
            self._pool,
            self._names,
            older_than_seconds=older_than_seconds,
            storage_timeout_seconds=self._settings.storage_timeout_seconds,
            maxlen=self._settings.events_maxlen,
        )
        self.stats.published += sent
        return seen

    async def _degrade(self, component: Component, exc: BaseException) -> None:
        """Remember (and, when Redis is there, announce) that a component is unavailable."""
        if component in self._outages:
            return
        status = DegradedStatus(
            component=component,
            since=self._clock(),
            reason=f"{type(exc).__name__}: {exc}"[:300],
            reporter=f"system:ingest:{self._consumer}",
        )
        self._outages[component] = status
        log.warning("ingest paused: %s unavailable (%s)", component, status.reason)
        if component == "storage":
            with contextlib.suppress(*REDIS_DOWN):
                await announce_degraded(
                    self._redis, self._names, status, self._settings.events_maxlen
                )

    async def _recover_if_possible(self) -> None:
        """While degraded, probe instead of reading; announce each recovery once it is back."""
        if not self._outages:
            return
        await self._redis.ping()  # raises while Redis is still away
        async with self._storage() as conn:
            await conn.fetchval("SELECT 1")
        # Redis first: it carries the announcement of the storage recovery.
        for component in sorted(self._outages, key=lambda c: c != "redis"):
            status = self._outages.pop(component)
            log.warning("ingest resumed: %s is back (down since %s)", component, status.since)
            await announce_recovered(
                self._redis,
                self._names,
                status,
                self._clock(),
                f"system:ingest:{self._consumer}",
                self._settings.events_maxlen,
            )


def accept_at(report: IntakeReport, place: Located, received_at: datetime) -> AcceptedReport:
    """A valid intake report with its place already found."""
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
        received_at=received_at,
        place=place,
    )
