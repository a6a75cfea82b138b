"""The ingest path on real Redis and PostgreSQL: validate, persist, publish, then acknowledge."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from realtime.forming import CaseFormer
from realtime.ingest import IngestSettings, IngestWorker, Locate
from realtime.intake_contract import decode_document
from realtime.streams import INGEST_GROUP, StreamNames
from tests.integration.forming import accept

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FIXED_NOW = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)


@cache
def demo_locate() -> Locate:
    from geo.pack import load_demo_pack
    from realtime.placement import locate_in

    return locate_in(load_demo_pack())


def make_former(redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames) -> CaseFormer:
    return CaseFormer(redis, pool, names=names, clock=lambda: FIXED_NOW)


def make_worker(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    former: CaseFormer | None = None,
    **settings: Any,
) -> IngestWorker:
    """A worker whose case former runs inline: each batch is formed before the call returns."""
    tuning = IngestSettings(block_ms=50, **settings)
    former = former or make_former(redis, pool, names)
    return IngestWorker(
        redis,
        pool,
        demo_locate(),
        names=names,
        consumer="test-worker",
        settings=tuning,
        clock=lambda: FIXED_NOW,
        after_store=former.form_all,
    )


def valid_lines() -> list[str]:
    return [s for s in (SAMPLES / "intake-valid.jsonl").read_text("utf-8").splitlines() if s]


def invalid_payloads() -> list[str]:
    lines = (SAMPLES / "intake-invalid.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line)["data"] for line in lines if line]


async def drain(worker: IngestWorker) -> None:
    """Process until the worker finds nothing new."""
    while await worker.process_once():
        pass
    await worker.process_once()


async def events_of(redis: aioredis.Redis, names: StreamNames) -> list[dict[str, Any]]:
    return [json.loads(f[b"data"]) for _, f in await redis.xrange(names.events)]


async def pending_count(redis: aioredis.Redis, names: StreamNames) -> int:
    info: Any = await redis.xpending(names.intake, INGEST_GROUP)
    return int(info["pending"])


async def test_valid_entry_becomes_one_case_and_one_event(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """One report → one case row, one event row, one event on the stream, nothing pending."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    await redis.xadd(names.intake, {"data": valid_lines()[0]})
    await drain(worker)

    async with pool.acquire() as conn:
        case = await conn.fetchrow("SELECT * FROM cases")
        assert await conn.fetchval("SELECT count(*) FROM cases") == 1
        assert await conn.fetchval("SELECT count(*) FROM case_events") == 1
        assert await conn.fetchval("SELECT count(*) FROM event_outbox") == 0
    assert case["case_no"] == "320118-20261126-0001"
    assert case["township_code"] == "320118001000"  # 高淳老街 is in 淳溪街道
    assert case["reporter_phone"] == "13951234567"
    assert case["inside_county"] is True
    events = await events_of(redis, names)
    assert [e["type"] for e in events] == ["case.opened"]
    assert events[0]["source_id"] == "110-20261126-000101"
    assert events[0]["case_id"] == case["id"]
    assert events[0]["schema"] == "event/1"
    published = json.dumps(events[0], ensure_ascii=False)
    assert "13951234567" not in published, "personal data must not leave the database"
    assert "王先生" not in published
    assert events[0]["reporter"] == {"name": "王**", "phone": "139****4567"}
    assert await pending_count(redis, names) == 0


async def test_entry_is_acknowledged_only_after_commit(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, database_url: str
) -> None:
    """While the database refuses connections the entry stays pending; then it lands once."""
    broken = await asyncpg.create_pool(database_url, min_size=0, max_size=1)
    await broken.close()
    worker = make_worker(redis, broken, names)
    await worker.ensure_group()
    await redis.xadd(names.intake, {"data": valid_lines()[2]})
    with pytest.raises(asyncpg.InterfaceError):
        await worker.process_once()
    assert await pending_count(redis, names) == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cases") == 0

    recovered = make_worker(redis, pool, names)  # same consumer name: re-reads its pending
    await drain(recovered)
    assert await pending_count(redis, names) == 0
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cases") == 1


async def test_same_source_id_twice_is_one_case(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A repeated source_id, in the same batch or a later one, opens no second case."""
    former = make_former(redis, pool, names)
    worker = make_worker(redis, pool, names, former)
    await worker.ensure_group()
    line = valid_lines()[3]
    await redis.xadd(names.intake, {"data": line})
    await redis.xadd(names.intake, {"data": line})
    await drain(worker)
    await redis.xadd(names.intake, {"data": line})
    await drain(worker)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cases") == 1
        assert await conn.fetchval("SELECT count(*) FROM case_reports") == 1
    assert len(await events_of(redis, names)) == 1
    assert worker.stats.accepted == 3  # each delivery is stored for the former ...
    assert former.stats.formed == 1  # ... which forms the first and skips both repeats
    assert former.stats.repeats == 2
    assert await pending_count(redis, names) == 0


async def test_linger_gathers_reports_arriving_one_by_one_into_one_batch(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """After a partial batch the next read waits out the linger, then takes all that came."""
    worker = make_worker(redis, pool, names, linger_ms=400)
    await worker.ensure_group()
    lines = valid_lines()
    await redis.xadd(names.intake, {"data": lines[0]})
    assert await worker.process_once() == 1  # a partial batch: the next read lingers
    started = time.monotonic()

    async def trickle() -> None:
        for line in lines[1:4]:
            await asyncio.sleep(0.05)
            await redis.xadd(names.intake, {"data": line})

    feeder = asyncio.create_task(trickle())
    assert await worker.process_once() == 3  # one batch, not three
    assert time.monotonic() - started >= 0.35
    await feeder
    assert worker.stats.batches == 2
    assert await pending_count(redis, names) == 0


async def test_full_batches_do_not_linger(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A backlog is read batch after batch: lingering is only for a trickle."""
    worker = make_worker(redis, pool, names, linger_ms=60_000, batch_size=2)
    await worker.ensure_group()
    for line in valid_lines()[:4]:
        await redis.xadd(names.intake, {"data": line})
    # Were the second read to linger, this would wait a minute and time out.
    assert await asyncio.wait_for(worker.process_once(), 30) == 2
    assert await asyncio.wait_for(worker.process_once(), 30) == 2


async def test_outside_point_is_accepted_and_flagged(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A report outside the county becomes a case marked outside, with the nearest township."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    for line in valid_lines():
        await redis.xadd(names.intake, {"data": line})
    await drain(worker)
    async with pool.acquire() as conn:
        outside = await conn.fetch("SELECT * FROM cases WHERE NOT inside_county")
        # Twelve reports; the two calls about the same fight on 高淳老街 are one case.
        assert await conn.fetchval("SELECT count(*) FROM cases") == 11
        assert await conn.fetchval("SELECT count(*) FROM case_reports") == 12
    assert len(outside) == 1
    assert outside[0]["township_code"].startswith("320118")
    assert outside[0]["village_code"] is None


async def test_thousand_mixed_entries_all_accounted_for(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """1,000 mixed entries: every valid one persisted, every invalid one dead-lettered."""
    rng = random.Random(7)
    templates = [json.loads(line) for line in valid_lines()]
    invalid = [*invalid_payloads(), "\ufffd", "{}", "[1,2]"]
    expected_valid: set[str] = set()
    expected_dead: list[bytes] = []
    async with redis.pipeline(transaction=False) as pipe:
        for serial in range(1000):
            if rng.random() < 0.6:
                document = dict(rng.choice(templates))
                document["source_id"] = f"mixed-{serial}"
                expected_valid.add(document["source_id"])
                pipe.xadd(names.intake, {"data": json.dumps(document, ensure_ascii=False)})
            elif rng.random() < 0.9:
                payload = rng.choice(invalid).encode("utf-8")
                expected_dead.append(payload)
                pipe.xadd(names.intake, {"data": payload})
            else:
                payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
                expected_dead.append(payload)
                pipe.xadd(names.intake, {"data": payload})
        await pipe.execute()

    worker = make_worker(redis, pool, names, batch_size=128)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(400):
        await asyncio.sleep(0.05)
        if worker.stats.accepted + worker.stats.rejected >= 1000:
            break
    assert not task.done(), "the worker must keep running through bad input"
    stop.set()
    await task

    async with pool.acquire() as conn:
        stored = {r["source_id"] for r in await conn.fetch("SELECT source_id FROM case_reports")}
        orphans = await conn.fetchval(
            "SELECT count(*) FROM case_reports r LEFT JOIN cases c ON c.id = r.case_id"
            " WHERE c.id IS NULL"
        )
    assert stored == expected_valid
    assert orphans == 0, "every report belongs to a case (opened it or linked to it)"
    dead: Any = await redis.xrange(names.intake_dead)
    assert sorted(f[b"data"] for _, f in dead) == sorted(expected_dead)
    assert all(f[b"reason"] for _, f in dead)
    assert await pending_count(redis, names) == 0
    published = await events_of(redis, names)
    assert sorted(e["source_id"] for e in published) == sorted(expected_valid)
    assert {e["type"] for e in published} <= {"case.opened", "case.report_linked"}


async def test_outbox_survives_a_crash_between_commit_and_publish(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Events committed but never published are drained from the outbox later."""
    from tests.integration.forming import form_reports

    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    report = accept(decode_document(valid_lines()[4].encode()), demo_locate(), FIXED_NOW)
    async with pool.acquire() as conn:
        await form_reports(conn, [report])  # committed; the "crash" skips publishing
    assert await events_of(redis, names) == []
    assert await worker.drain_outbox(older_than_seconds=0) == 1
    events = await events_of(redis, names)
    assert [e["source_id"] for e in events] == [report.source_id]
    assert await worker.drain_outbox(older_than_seconds=0) == 0


async def test_second_call_about_the_same_fight_is_linked_not_opened(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Two 110 calls a minute apart, 50 m apart: one case, the second a linked report."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    first, second = valid_lines()[0], valid_lines()[1]
    await redis.xadd(names.intake, {"data": first})
    await drain(worker)
    await redis.xadd(names.intake, {"data": second})
    await drain(worker)
    events = await events_of(redis, names)
    assert [e["type"] for e in events] == ["case.opened", "case.report_linked"]
    assert events[1]["source_id"] == json.loads(second)["source_id"]
    assert events[1]["case_id"] == events[0]["case_id"]
    assert events[1]["case"]["report_count"] == 2
    # The opened case is new to the screens (whole view); the link sends what it changed.
    assert "changes" not in events[0]
    assert events[1]["changes"] == {"report_count": 2, "version": events[1]["case"]["version"]}
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT version, report_count FROM cases")
        kinds = await conn.fetch("SELECT link_kind FROM case_reports ORDER BY source_id")
    assert (row["version"], row["report_count"]) == (2, 2)
    assert [k["link_kind"] for k in kinds] == ["opened", "auto"]
