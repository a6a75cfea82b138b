"""The worker's probe endpoint and settings, on real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import asyncpg
import pytest
import redis.asyncio as aioredis

from realtime.heartbeat import WorkerHeartbeat, write_heartbeat
from realtime.ingest import IngestSettings
from realtime.probe import serve_probe
from realtime.streams import StreamNames
from realtime.worker import probe_routes
from tests.integration.test_ingest import make_worker
from tests.stack import free_port

pytestmark = pytest.mark.integration


def fetch(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


async def test_probe_answers_healthz_and_metrics(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """/healthz is 503 until an ingest worker and a former beat, then 200; /metrics is text."""
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve_probe("127.0.0.1", port, probe_routes(redis, pool, names), stop)
    )
    await asyncio.sleep(0.2)
    base = f"http://127.0.0.1:{port}"
    try:
        status, _, body = await asyncio.to_thread(fetch, base + "/healthz")
        assert status == 503
        assert json.loads(body)["ingest_workers"] == 0
        worker = make_worker(redis, pool, names)
        await worker.ensure_group()
        await worker.heartbeat()
        status, _, body = await asyncio.to_thread(fetch, base + "/healthz")
        assert status == 503, "an intake worker alone forms no cases"
        assert (json.loads(body)["ingest_workers"], json.loads(body)["case_formers"]) == (1, 0)
        now = datetime.now(UTC)
        former = WorkerHeartbeat(consumer="former-1", at=now, started_at=now, roles=["former"])
        await write_heartbeat(redis, names, former, 30)
        status, kind, body = await asyncio.to_thread(fetch, base + "/healthz")
        assert (status, kind) == (200, "application/json")
        health = json.loads(body)
        assert (health["ready"], health["ingest_workers"], health["degraded"]) == (True, 1, [])
        assert health["case_formers"] == 1
        status, kind, body = await asyncio.to_thread(fetch, base + "/metrics")
        assert status == 200
        assert kind.startswith("text/plain; version=0.0.4")
        assert 'pingan_ingest_batches_total{consumer="test-worker"} 0' in body
        status, _, _ = await asyncio.to_thread(fetch, base + "/nope")
        assert status == 404
    finally:
        stop.set()
        await server


def test_settings_come_from_the_environment() -> None:
    """PINGAN_INGEST_* variables set the fields they name, with the field's type."""
    settings = IngestSettings.from_env(
        {"PINGAN_INGEST_CLAIM_IDLE_MS": "1500", "PINGAN_INGEST_OUTBOX_GRACE_SECONDS": "0.5"}
    )
    assert settings.claim_idle_ms == 1500
    assert settings.outbox_grace_seconds == 0.5
    assert settings.batch_size == IngestSettings().batch_size
