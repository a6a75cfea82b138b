"""Ingest recovery on real Redis and PostgreSQL: claims, poison, outages, heartbeat, metrics."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from realtime.intake_contract import decode_document
from realtime.metrics import metrics_text
from realtime.streams import INGEST_GROUP, StreamNames
from tests.fault.tcp_proxy import proxy_to, via
from tests.integration.forming import accept, form_reports
from tests.integration.test_ingest import (
    FIXED_NOW,
    demo_locate,
    events_of,
    invalid_payloads,
    make_worker,
    pending_count,
    valid_lines,
)

pytestmark = pytest.mark.integration


def documents(count: int, tag: str) -> list[str]:
    """Valid intake documents with unique source ids."""
    templates = [json.loads(line) for line in valid_lines()]
    out = []
    for serial in range(count):
        document = dict(templates[serial % len(templates)])
        document["source_id"] = f"{tag}-{serial}"
        out.append(json.dumps(document, ensure_ascii=False))
    return out


async def add_all(redis: aioredis.Redis, names: StreamNames, payloads: list[str]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for payload in payloads:
            pipe.xadd(names.intake, {"data": payload})
        await pipe.execute()


async def report_count(pool: asyncpg.Pool) -> int:
    """Reports stored, each opening a case or linked to one (intake merges repeats)."""
    async with pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM case_reports")
        return count


async def wait_until(condition: Callable[[], Any], within: float = 10.0) -> None:
    """Poll an async condition until it holds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def source_ids(events: list[dict[str, Any]]) -> Counter[str]:
    """How often each report was announced (by case.opened or case.report_linked)."""
    kinds = ("case.opened", "case.report_linked")
    return Counter(e["source_id"] for e in events if e["type"] in kinds)


async def test_abandoned_entries_are_claimed_and_applied_once(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Entries left pending by a dead worker (some already committed) become cases exactly once."""
    worker = make_worker(redis, pool, names, claim_idle_ms=50)
    await worker.ensure_group()
    await add_all(redis, names, documents(20, "claim"))
    dead: Any = await redis.xreadgroup(INGEST_GROUP, "dead-worker", {names.intake: ">"}, count=20)
    taken = dead[0][1]
    assert len(taken) == 20
    # The dead worker had committed its first five before it died, without publishing them.
    committed = [
        accept(decode_document(f[b"data"]), demo_locate(), FIXED_NOW) for _, f in taken[:5]
    ]
    async with pool.acquire() as conn:
        await form_reports(conn, committed)

    await asyncio.sleep(0.1)
    assert await worker.claim_abandoned() == 20
    assert await worker.drain_outbox(older_than_seconds=0) == 5

    assert await report_count(pool) == 20
    counts = source_ids(await events_of(redis, names))
    assert set(counts) == {f"claim-{n}" for n in range(20)}
    assert set(counts.values()) == {1}
    assert await pending_count(redis, names) == 0
    assert worker.stats.claimed == 20


async def test_outbox_drain_skips_events_already_published(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A crash between publishing and clearing the outbox never publishes an event twice."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    await add_all(redis, names, documents(7, "pub"))
    while await worker.process_once():
        pass
    async with pool.acquire() as conn:
        # As if the worker died right after its Redis MULTI, before deleting the outbox rows.
        await conn.execute(
            "INSERT INTO event_outbox (first_event_id, event_ids, payloads)"
            " SELECT min(id), array_agg(id ORDER BY id), array_agg(data ORDER BY id)"
            " FROM case_events"
        )
    assert await worker.drain_outbox(older_than_seconds=0) == 7
    counts = source_ids(await events_of(redis, names))
    assert len(counts) == 7
    assert set(counts.values()) == {1}
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_outbox") == 0


async def test_poison_entry_goes_to_dead_letters_with_the_reason(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """An entry delivered more than max_deliveries times is dead-lettered; the rest land."""
    worker = make_worker(redis, pool, names, claim_idle_ms=0, max_deliveries=3)
    await worker.ensure_group()
    poison, *others = documents(3, "poison")
    await add_all(redis, names, [poison])
    first: Any = await redis.xreadgroup(INGEST_GROUP, "dead-a", {names.intake: ">"}, count=1)
    poison_id = first[0][1][0][0]
    await redis.xclaim(names.intake, INGEST_GROUP, "dead-b", 0, [poison_id])
    await redis.xclaim(names.intake, INGEST_GROUP, "dead-c", 0, [poison_id])
    await redis.hset(names.intake_errors, poison_id, "storage refused the report: boom")
    await add_all(redis, names, others)
    await redis.xreadgroup(INGEST_GROUP, "dead-a", {names.intake: ">"}, count=10)

    assert await worker.claim_abandoned() == 3
    dead: Any = await redis.xrange(names.intake_dead)
    assert len(dead) == 1
    fields = dead[0][1]
    assert fields[b"data"] == poison.encode()
    assert fields[b"entry_id"] == poison_id
    reason = fields[b"reason"].decode()
    assert reason.startswith("poison: delivered 4 times (max 3)")
    assert "last error: storage refused the report: boom" in reason
    assert await redis.hlen(names.intake_errors) == 0
    async with pool.acquire() as conn:
        stored = {r["source_id"] for r in await conn.fetch("SELECT source_id FROM case_reports")}
    assert stored == {json.loads(d)["source_id"] for d in others}
    assert await pending_count(redis, names) == 0
    assert worker.stats.poisoned == 1


async def last_delivered(redis: aioredis.Redis, names: StreamNames) -> bytes:
    """The group's read position (moves whenever the worker reads; Redis 6.2 and 7 alike)."""
    groups: Any = await redis.xinfo_groups(names.intake)
    return bytes(groups[0]["last-delivered-id"])


async def test_storage_outage_stops_reading_announces_and_catches_up(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, database_url: str
) -> None:
    """PostgreSQL away: the worker stops reading, says so on the events stream, then catches up."""
    async with proxy_to(database_url) as proxy:
        proxied = await asyncpg.create_pool(via(database_url, proxy.port), min_size=1, max_size=2)
        worker = make_worker(
            redis,
            proxied,
            names,
            min_backoff_seconds=0.05,
            max_backoff_seconds=0.2,
            storage_timeout_seconds=2.0,
        )
        await worker.ensure_group()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await add_all(redis, names, documents(10, "before"))
            await wait_until(lambda: _has_cases(pool, 10))

            proxy.cut()
            await add_all(redis, names, documents(10, "during"))
            await wait_until(lambda: _true(bool(worker.degraded)))
            assert await redis.exists(names.degraded("storage")) == 1
            read_at_outage = await last_delivered(redis, names)
            await add_all(redis, names, documents(10, "later"))
            await asyncio.sleep(0.6)
            assert await last_delivered(redis, names) == read_at_outage, "must not read while down"
            assert not task.done()

            proxy.restore()
            await wait_until(lambda: _has_cases(pool, 30))
            await wait_until(lambda: _true(not worker.degraded))
        finally:
            stop.set()
            await task
            await proxied.close()

    events = await events_of(redis, names)
    kinds = [e["type"] for e in events if e["type"].startswith("system.")]
    assert kinds == ["system.degraded", "system.recovered"]
    degraded = next(e for e in events if e["type"] == "system.degraded")
    assert degraded["component"] == "storage"
    assert degraded["since"] and degraded["reason"]
    assert await redis.exists(names.degraded("storage")) == 0
    counts = source_ids(events)
    assert len(counts) == 30
    assert set(counts.values()) == {1}
    assert await pending_count(redis, names) == 0


async def test_redis_outage_is_ridden_out_and_recorded_afterwards(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, servers: tuple[str, str]
) -> None:
    """Redis away for the worker: it backs off, comes back, and records the outage window."""
    async with proxy_to(servers[0]) as proxy:
        worker_redis = aioredis.Redis.from_url(
            via(servers[0], proxy.port), socket_timeout=None, socket_connect_timeout=1
        )
        worker = make_worker(
            worker_redis, pool, names, min_backoff_seconds=0.05, max_backoff_seconds=0.2
        )
        await worker.ensure_group()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await add_all(redis, names, documents(5, "before"))
            await wait_until(lambda: _has_cases(pool, 5))
            proxy.cut()
            await wait_until(lambda: _true(bool(worker.degraded)))
            assert [s.component for s in worker.degraded] == ["redis"]
            await add_all(redis, names, documents(5, "during"))
            proxy.restore()
            await wait_until(lambda: _has_cases(pool, 10))
            await wait_until(lambda: _true(not worker.degraded))
        finally:
            stop.set()
            await task
            await worker_redis.aclose()
    events = await events_of(redis, names)
    recovered = [e for e in events if e["type"] == "system.recovered"]
    assert len(recovered) == 1
    assert recovered[0]["component"] == "redis"
    assert recovered[0]["since"] <= recovered[0]["until"]
    assert await pending_count(redis, names) == 0


async def test_heartbeat_and_metrics_show_lag_dead_letters_and_counters(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """/metrics text reports pending, undelivered, dead letters and the worker's counters."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    await add_all(redis, names, [*documents(4, "m"), *invalid_payloads()[:2]])
    while await worker.process_once():
        pass
    await worker.heartbeat()
    await add_all(redis, names, documents(3, "waiting"))
    await redis.xreadgroup(INGEST_GROUP, "slow", {names.intake: ">"}, count=1)

    text = await metrics_text(redis, names, FIXED_NOW)
    intake = f'stream="{names.intake}",group="ingest"'
    assert f"pingan_stream_pending{{{intake}}} 1" in text
    assert f"pingan_stream_undelivered{{{intake}}} 2" in text
    assert f'pingan_dead_letters{{stream="{names.intake_dead}"}} 2' in text
    assert 'pingan_ingest_accepted_total{consumer="test-worker"} 4' in text
    assert 'pingan_ingest_dead_letters_total{consumer="test-worker"} 2' in text
    assert "pingan_workers_alive 1" in text
    assert "# TYPE pingan_ingest_accepted_total counter" in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2


async def _has_cases(pool: asyncpg.Pool, count: int) -> bool:
    return await report_count(pool) >= count


async def _true(value: bool) -> bool:
    return value
