"""Crash PostgreSQL, then Redis, mid-flow (servers the test owns): everything lands once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from realtime.streams import StreamNames
from tests.fault.own_servers import own_postgres, own_redis
from tests.fault.processes import (
    books,
    feed,
    opened_source_ids,
    pending,
    report_documents,
    settle,
    worker_env,
    worker_processes,
)

pytestmark = pytest.mark.integration

REPORTS = 4_000


async def system_events(redis: aioredis.Redis, names: StreamNames) -> list[dict[str, Any]]:
    """The system.* events on the events stream, in order."""
    found = []
    for _, fields in await redis.xrange(names.events):
        event = json.loads(fields[b"data"])
        if event["type"].startswith("system."):
            found.append(event)
    return found


async def wait_for_key(redis: aioredis.Redis, key: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not await redis.exists(key):
        assert time.monotonic() < deadline, f"{key} never appeared"
        await asyncio.sleep(0.05)


async def test_postgres_crash_mid_flow_degrades_then_catches_up(
    servers: tuple[str, str], names: StreamNames, redis: aioredis.Redis
) -> None:
    """PostgreSQL killed and restarted under load: a banner event, then every report once."""
    from app import migrate_and_load

    with own_postgres() as postgres:
        await migrate_and_load(postgres.url)
        env = worker_env(servers[0], postgres.url, names)
        with worker_processes(env, ["pg-a", "pg-b"]) as workers:
            feeder = asyncio.create_task(
                feed(redis, names.intake, report_documents(REPORTS, "pg"), per_second=500)
            )
            await asyncio.sleep(3)
            await asyncio.to_thread(postgres.crash)
            await wait_for_key(redis, names.degraded("storage"), within=15)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(postgres.start)
            await feeder
            pool = await asyncpg.create_pool(postgres.url, min_size=1, max_size=2)
            try:
                await settle(redis, pool, names, REPORTS, within=60)
                assert (await books(pool))[1:] == (REPORTS, 0)
            finally:
                await pool.close()
            assert all(worker.poll() is None for worker in workers), "a worker stopped"

    counts = await opened_source_ids(redis, names)
    assert set(counts) == {f"pg-{n}" for n in range(REPORTS)}
    assert max(counts.values()) == 1
    assert await redis.xlen(names.intake_dead) == 0
    kinds = [(e["type"], e["component"]) for e in await system_events(redis, names)]
    assert kinds == [("system.degraded", "storage"), ("system.recovered", "storage")]
    assert not await redis.exists(names.degraded("storage"))


async def test_redis_crash_mid_flow_keeps_everything_it_acknowledged(
    pool: asyncpg.Pool, database_url: str, names: StreamNames
) -> None:
    """Redis (append-only, fsync always) killed and restarted: every acknowledged report lands."""
    with own_redis() as server:
        client = aioredis.Redis.from_url(server.url, socket_timeout=5, socket_connect_timeout=1)
        try:
            env = worker_env(server.url, database_url, names)
            with worker_processes(env, ["rd-a", "rd-b"]) as workers:
                feeder = asyncio.create_task(
                    feed(client, names.intake, report_documents(REPORTS, "rd"), per_second=500)
                )
                await asyncio.sleep(3)
                server.crash()
                await asyncio.sleep(1.0)
                await asyncio.to_thread(server.start)
                await feeder
                await settle(client, pool, names, REPORTS, within=60)
                assert all(worker.poll() is None for worker in workers), "a worker stopped"
            assert (await books(pool))[1:] == (REPORTS, 0)
            counts = await opened_source_ids(client, names)
            assert set(counts) == {f"rd-{n}" for n in range(REPORTS)}
            assert max(counts.values()) == 1
            assert await client.xlen(names.intake_dead) == 0
            assert await pending(client, names) == 0
            recovered = [
                e for e in await system_events(client, names) if e["type"] == "system.recovered"
            ]
            assert [e["component"] for e in recovered] == ["redis"]
        finally:
            await client.aclose()
