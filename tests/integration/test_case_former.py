"""Two-stage intake on real Redis and PostgreSQL: acknowledged once durable, then formed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from realtime.forming import CaseFormer
from realtime.ingest import IngestSettings, IngestWorker
from realtime.intake_contract import decode_document
from realtime.streams import StreamNames
from realtime.worker import run_former
from tests.integration.forming import accept, form_reports
from tests.integration.test_ingest import (
    FIXED_NOW,
    demo_locate,
    events_of,
    pending_count,
    valid_lines,
)

pytestmark = pytest.mark.integration


def intake_only(redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames) -> IngestWorker:
    """A worker that stores and acknowledges, with no former of its own."""
    return IngestWorker(
        redis,
        pool,
        demo_locate(),
        names=names,
        consumer="stage-one",
        settings=IngestSettings(block_ms=50),
        clock=lambda: FIXED_NOW,
    )


def former(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, **tuning: Any
) -> CaseFormer:
    return CaseFormer(redis, pool, names=names, clock=lambda: FIXED_NOW, **tuning)


def documents(count: int, tag: str) -> list[str]:
    """Valid reports with unique source ids, far enough apart that each opens its own case."""
    base = json.loads(valid_lines()[0])
    out = []
    for n in range(count):
        doc = dict(base, source_id=f"{tag}-{n}")
        doc["location"] = {"lon": 118.80 + (n % 40) * 0.007, "lat": 31.28 + (n // 40) * 0.007}
        out.append(json.dumps(doc, ensure_ascii=False))
    return out


async def stored(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, docs: list[str]
) -> IngestWorker:
    """Run these documents through stage one only; return its worker."""
    worker = intake_only(redis, pool, names)
    await worker.ensure_group()
    for doc in docs:
        await redis.xadd(names.intake, {"data": doc})
    while await worker.process_once():
        pass
    return worker


async def count(pool: asyncpg.Pool, sql: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def test_entry_is_acknowledged_once_durable_and_formed_afterwards(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Stage one leaves a pending row and no case; the former turns it into one, once."""
    worker = intake_only(redis, pool, names)
    await worker.ensure_group()
    await redis.xadd(names.intake, {"data": valid_lines()[0]})
    assert await worker.process_once() == 1

    assert await pending_count(redis, names) == 0, "acknowledged once stored"
    assert await count(pool, "SELECT count(*) FROM intake_pending") == 1
    assert await count(pool, "SELECT count(*) FROM cases") == 0
    assert await events_of(redis, names) == []

    cases = former(redis, pool, names)
    assert await cases.form_all() == 1
    assert await count(pool, "SELECT count(*) FROM intake_pending") == 0
    assert await count(pool, "SELECT count(*) FROM cases") == 1
    assert [e["type"] for e in await events_of(redis, names)] == ["case.opened"]
    assert await count(pool, "SELECT count(*) FROM event_outbox") == 0
    assert await cases.form_all() == 0


async def test_two_formers_form_every_report_exactly_once(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Formers racing over 600 stored reports take turns: each report is one case, in order."""
    await stored(redis, pool, names, documents(600, "race"))

    first, second = (former(redis, pool, names, batch_size=50) for _ in range(2))
    taken = await asyncio.gather(first.form_all(), second.form_all())
    assert sum(taken) == 600
    assert first.stats.formed and second.stats.formed, "both took turns"
    assert await count(pool, "SELECT count(*) FROM cases") == 600
    assert await count(pool, "SELECT count(DISTINCT source_id) FROM case_reports") == 600
    assert await count(pool, "SELECT count(*) FROM intake_pending") == 0
    events = await events_of(redis, names)
    assert len(events) == 600
    # Received order is case order: the turn passes between whole batches.
    async with pool.acquire() as conn:
        opened = [r["source_id"] for r in await conn.fetch("SELECT source_id FROM case_reports")]
        by_id = await conn.fetch(
            "SELECT r.source_id FROM cases AS c JOIN case_reports AS r ON r.case_id = c.id"
            " ORDER BY c.id"
        )
    assert sorted(opened) == sorted(f"race-{n}" for n in range(600))
    assert [r["source_id"] for r in by_id] == [f"race-{n}" for n in range(600)]


async def test_a_row_that_cannot_form_is_dead_lettered_and_the_rest_still_form(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A corrupt pending row goes to the intake dead letters with a reason; none is lost."""
    await stored(redis, pool, names, documents(3, "poison"))
    async with pool.acquire() as conn:
        # As if a later release had written a channel this one does not know.
        await conn.execute(
            "UPDATE intake_pending SET channel = 'carrier-pigeon' WHERE source_id = 'poison-1'"
        )

    cases = former(redis, pool, names)
    assert await cases.form_all() == 3
    async with pool.acquire() as conn:
        formed = {r["source_id"] for r in await conn.fetch("SELECT source_id FROM case_reports")}
    assert formed == {"poison-0", "poison-2"}
    assert await count(pool, "SELECT count(*) FROM intake_pending") == 0
    dead = await redis.xrange(names.intake_dead)
    assert len(dead) == 1
    fields = dead[0][1]
    assert b"case formation failed" in fields[b"reason"]
    assert b"carrier-pigeon" in fields[b"reason"]
    document = json.loads(fields[b"data"])
    assert document["source_id"] == "poison-1"
    assert document["schema"] == "intake/1"
    assert cases.stats.dead_lettered == 1


async def test_the_stored_note_wakes_a_former_in_another_task(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """With polling set to a minute, only the ingest worker's note can make the case appear."""
    cases = former(redis, pool, names, poll_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(cases.run(stop))
    try:
        await asyncio.sleep(0.2)  # the former is waiting on the note stream
        worker = intake_only(redis, pool, names)
        await worker.ensure_group()
        await redis.xadd(names.intake, {"data": valid_lines()[1]})
        assert await worker.process_once() == 1
        assert await redis.xread({names.events: "0-0"}, block=10_000), "no case within 10 s"
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)
    assert await count(pool, "SELECT count(*) FROM cases") == 1
    assert cases.stats.formed == 1


async def test_a_publishing_failure_after_commit_dead_letters_nothing(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Committed, then Redis refuses the events: no row is blamed; the outbox drain sends them."""
    worker = await stored(redis, pool, names, documents(2, "refused"))
    await redis.set(names.events, "not a stream")  # every XADD to it now fails: WRONGTYPE

    cases = former(redis, pool, names)
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await cases.form_all()
    assert await count(pool, "SELECT count(*) FROM cases") == 2
    assert await count(pool, "SELECT count(*) FROM intake_pending") == 0
    assert await redis.xlen(names.intake_dead) == 0
    assert cases.stats.dead_lettered == 0

    await redis.delete(names.events)
    assert await worker.drain_outbox(older_than_seconds=0) == 2
    assert sorted(e["source_id"] for e in await events_of(redis, names)) == [
        "refused-0",
        "refused-1",
    ]


async def test_a_former_process_forms_beats_and_drains_the_outbox(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """What `app.py former` runs: cases form, its heartbeat counts them, the outbox drains."""
    async with pool.acquire() as conn:  # committed by a writer that died before publishing
        report = decode_document(valid_lines()[2].encode())
        await form_reports(conn, [accept(report, demo_locate(), FIXED_NOW)])
    await stored(redis, pool, names, documents(3, "process"))

    settings = IngestSettings(outbox_grace_seconds=0, outbox_every_seconds=0.05, former_niceness=0)
    stop = asyncio.Event()
    running = asyncio.create_task(
        run_former(redis, pool, names=names, consumer="former-t", settings=settings, stop=stop)
    )
    try:
        async with asyncio.timeout(20):
            while len(await events_of(redis, names)) < 4:  # noqa: ASYNC110 - a stream count
                await asyncio.sleep(0.05)
            beat: Any = None
            while beat is None or json.loads(beat)["formed"] < 3:
                await asyncio.sleep(0.05)
                beat = await redis.get(names.heartbeat("former-t"))
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    source_ids = sorted(e["source_id"] for e in await events_of(redis, names))
    assert source_ids == sorted(
        [json.loads(valid_lines()[2])["source_id"], "process-0", "process-1", "process-2"]
    )
    assert json.loads(beat)["unformed"] == 0


async def test_the_backlog_counts_what_waits_and_since_when(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """What pingan_intake_unformed reports: the rows left after a batch, then none."""
    await stored(redis, pool, names, documents(120, "backlog"))
    cases = former(redis, pool, names, batch_size=50, backlog_every_seconds=0)
    await cases.refresh_backlog()
    assert (cases.stats.unformed, cases.stats.unformed_since) == (120, FIXED_NOW)
    assert await cases.form_once() == 50
    await cases.refresh_backlog()
    assert cases.stats.unformed == 70
    await cases.form_all()
    await cases.refresh_backlog()
    assert (cases.stats.unformed, cases.stats.unformed_since) == (0, None)
