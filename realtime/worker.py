"""One worker process: the intake consumer and case former, the positions and cameras consumers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg
import redis.asyncio as aioredis

from incidents.store.deadline_job import escalate_overdue
from incidents.store.service import CaseService
from realtime.cameras import CamerasConsumer, CameraSettings
from realtime.forming import CaseFormer
from realtime.health import stack_health
from realtime.heartbeat import WorkerHeartbeat, write_heartbeat
from realtime.ingest import (
    IngestSettings,
    IngestWorker,
    Locate,
    SideCounters,
)
from realtime.metrics import CONTENT_TYPE, metrics_text
from realtime.outages import run_until_stopped
from realtime.positions import PositionsConsumer, PositionSettings, store_tracks_in
from realtime.probe import ProbeResponse, json_response, serve_probe
from realtime.publishing import drain_outbox
from realtime.streams import StreamNames
from realtime.terminals import CaseCommands, TerminalInbox, utc_now
from realtime.watchdog import run_watchdog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeAddress:
    """Where the worker answers /healthz and /metrics (optional)."""

    host: str
    port: int


class _Consumer(Protocol):
    async def ensure_group(self) -> None: ...

    async def process_once(self) -> int: ...


def probe_routes(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> dict[str, Callable[[], Awaitable[ProbeResponse]]]:
    """The /healthz and /metrics handlers, for any process that holds a Redis and a pool."""

    async def healthz() -> ProbeResponse:
        ready, details = await stack_health(redis, pool, names)
        return json_response(200 if ready else 503, {"ready": ready, **details})

    async def metrics() -> ProbeResponse:
        return ProbeResponse(200, CONTENT_TYPE, await metrics_text(redis, names, datetime.now(UTC)))

    return {"/healthz": healthz, "/metrics": metrics}


async def consume(name: str, consumer: _Consumer, stop: asyncio.Event) -> None:
    """Run a side consumer until stopped; outages back off (the intake worker announces them)."""

    async def step() -> None:
        await consumer.ensure_group()
        while not stop.is_set():
            await consumer.process_once()

    await run_until_stopped(f"{name} consumer", step, stop)


async def run_deadline_job(
    pool: asyncpg.Pool,
    service: CaseService,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
    every_seconds: float = 15.0,
) -> None:
    """Record missed deadlines on a timer until `stop`; a failing tick is retried, never fatal."""

    async def tick() -> None:
        applied = await escalate_overdue(pool, service, clock())
        if applied:
            log.info("recorded %d missed deadlines", applied)

    await run_until_stopped("deadline job", tick, stop, every_seconds=every_seconds)


def case_former(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, settings: IngestSettings
) -> CaseFormer:
    """The case former of a worker, tuned by the worker's ingest settings."""
    return CaseFormer(
        redis,
        pool,
        names=names,
        batch_size=settings.form_batch_size,
        poll_seconds=settings.form_poll_seconds,
        events_maxlen=settings.events_maxlen,
        storage_timeout_seconds=settings.storage_timeout_seconds,
        clock=utc_now,
    )


async def run_former(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    *,
    names: StreamNames,
    consumer: str,
    settings: IngestSettings,
    stop: asyncio.Event,
) -> None:
    """A process that only forms cases (and drains the outbox), with its own heartbeat."""
    if settings.former_niceness > 0:
        os.nice(settings.former_niceness)
    former = case_former(redis, pool, names, settings)
    started_at = utc_now()

    drained = 0
    last_drain = 0.0

    async def beat_and_drain() -> None:
        nonlocal drained, last_drain
        beat = WorkerHeartbeat(
            consumer=consumer,
            at=utc_now(),
            started_at=started_at,
            roles=["former"],
            formed=former.stats.formed,
            duplicates=former.stats.repeats,
            published=former.stats.published + drained,
            unformed=former.stats.unformed,
            unformed_since=former.stats.unformed_since,
        )
        await write_heartbeat(redis, names, beat, settings.heartbeat_seconds)
        if time.monotonic() - last_drain >= settings.outbox_every_seconds:
            last_drain = time.monotonic()
            _, sent = await drain_outbox(
                redis,
                pool,
                names,
                older_than_seconds=settings.outbox_grace_seconds,
                storage_timeout_seconds=settings.storage_timeout_seconds,
                maxlen=settings.events_maxlen,
            )
            drained += sent

    chores = run_until_stopped(
        "former heartbeat and outbox drain",
        beat_and_drain,
        stop,
        every_seconds=settings.heartbeat_every_seconds,
    )
    watchdog = run_watchdog(redis, names, f"system:watchdog:{consumer}", stop)
    await asyncio.gather(former.run(stop), chores, watchdog)


async def run_worker(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    locate: Locate,
    *,
    names: StreamNames,
    consumer: str,
    settings: IngestSettings,
    stop: asyncio.Event,
    probe: ProbeAddress | None = None,
    positions: PositionSettings | None = None,
    cameras: CameraSettings | None = None,
    terminal_service: CaseCommands | None = None,
    form: bool = True,
) -> None:
    """Run the intake, positions and cameras consumers (and the probe) until `stop` is set.

    With `form`, this process also runs a case former; without, a former elsewhere
    (`run_former`) turns the stored reports into cases.

    With `terminal_service`, this worker also applies field-terminal messages to cases; give
    it to exactly one worker, so each terminal's messages stay in order.
    """
    # The county pack, the locator and the codecs are built by now and live for the whole
    # run: set them aside from the cyclic collector. A full pass over them took 33 ms here
    # (68,000 objects), a stall that landed on whichever batch was running; frozen, 0.005 ms.
    gc.collect()
    gc.freeze()
    tracks = PositionsConsumer(
        redis, store_tracks_in(pool), names=names, consumer=consumer, settings=positions
    )
    cams = CamerasConsumer(redis, names=names, consumer=consumer, settings=cameras)

    former = case_former(redis, pool, names, settings)

    def side() -> SideCounters:
        return SideCounters(
            positions=tracks.stats.fixes,
            positions_sampled=tracks.stats.sampled,
            camera_updates=cams.stats.updates,
            camera_alarms=cams.stats.alarms,
            formed=former.stats.formed,
            repeats=former.stats.repeats,
            published=former.stats.published,
            unformed=former.stats.unformed,
            unformed_since=former.stats.unformed_since,
        )

    worker = IngestWorker(
        redis,
        pool,
        locate,
        names=names,
        consumer=consumer,
        settings=settings,
        side_counters=side,
        roles=("ingest", "former") if form else ("ingest",),
    )
    # No ensure_group here: with Redis away at start the run loop rides it out (and creates
    # the group on NOGROUP) instead of the process dying and its supervisor giving up.
    tasks = [
        asyncio.create_task(worker.run(stop), name="intake"),
        asyncio.create_task(
            run_watchdog(redis, names, f"system:watchdog:{consumer}", stop), name="watchdog"
        ),
        asyncio.create_task(consume("positions", tracks, stop), name="positions"),
        asyncio.create_task(consume("cameras", cams, stop), name="cameras"),
    ]
    if form:
        tasks.append(asyncio.create_task(former.run(stop), name="former"))
    if terminal_service is not None:
        inbox = TerminalInbox(
            redis, pool, terminal_service, names=names, consumer=consumer, clock=utc_now
        )
        tasks.append(asyncio.create_task(consume("terminals", inbox, stop), name="terminals"))
    if probe is not None:
        routes = probe_routes(redis, pool, names)
        tasks.append(asyncio.create_task(serve_probe(probe.host, probe.port, routes, stop)))
        log.info("worker probe on http://%s:%d/metrics", probe.host, probe.port)
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
