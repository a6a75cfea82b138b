"""One worker process: the intake consumer plus its side tasks, sharing one Redis and one pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis

from realtime.health import stack_health
from realtime.ingest import IngestSettings, IngestWorker, Locate
from realtime.metrics import CONTENT_TYPE, metrics_text
from realtime.probe import ProbeResponse, json_response, serve_probe
from realtime.streams import StreamNames

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeAddress:
    """Where the worker answers /healthz and /metrics (optional)."""

    host: str
    port: int


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
) -> None:
    """Run the intake consumer (and the probe endpoint, if asked) until `stop` is set."""
    worker = IngestWorker(redis, pool, locate, names=names, consumer=consumer, settings=settings)
    await worker.ensure_group()
    tasks = [asyncio.create_task(worker.run(stop), name="intake")]
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
