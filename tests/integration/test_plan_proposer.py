"""Plan proposals on the real stack parts: a new case matching a plan's trigger gets the plan
proposed once, from the events stream, however often the event is delivered."""

from __future__ import annotations

import json

import asyncpg
import pytest
import redis.asyncio as aioredis

from geo.pack import load_demo_pack
from incidents.store.outbox import mark_published
from realtime.event_sink import RedisEventSink
from realtime.plan_proposer import PlanProposer, cases_to_match
from realtime.streams import DATA_FIELD, StreamNames
from tests.integration.forming import form_reports
from tests.integration.test_case_service import accepted
from tests.integration.test_ingest import FIXED_NOW, valid_lines

pytestmark = pytest.mark.integration

LEAK = "阳江镇工业园区一化工厂储罐阀门破裂，现场有刺鼻气味，疑似危化品泄漏"


def leak_line() -> str:
    document = json.loads(valid_lines()[3])
    document.update(summary=LEAK, severity=2, source_id="plan-leak-1")
    return json.dumps(document, ensure_ascii=False)


async def test_a_matching_case_gets_its_plan_proposed_once(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """case.opened of a leak → the hazmat plan proposed, with its event; a redelivery adds none."""
    from app import plan_service_for

    async with pool.acquire() as conn:
        events = await form_reports(conn, [accepted(leak_line())])
        await mark_published(conn, [e.event_id for e in events])
    await RedisEventSink(redis, names).publish(events)
    plans = plan_service_for(pool, redis, names, load_demo_pack())
    proposer = PlanProposer(redis, plans, names=names, consumer="p-1", clock=lambda: FIXED_NOW)
    await proposer.ensure_group()
    while await proposer.process_once():
        pass
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT case_id, plan_id, level FROM plan_proposals")
    assert [(r["plan_id"], r["level"]) for r in rows] == [("hazmat-leak", 2)]
    entries = await redis.xrange(names.events)
    proposed = [json.loads(f[DATA_FIELD]) for _, f in entries if b"plan.proposed" in f[DATA_FIELD]]
    assert [p["plan_id"] for p in proposed] == ["hazmat-leak"]
    assert "reporter" not in proposed[0]

    await proposer.handle_batch(entries)  # delivered again after a crash
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM plan_proposals") == 1
    after = await redis.xrange(names.events)
    assert sum(b"plan.proposed" in f[DATA_FIELD] for _, f in after) == 1


def test_only_new_cases_and_linked_reports_are_matched() -> None:
    """Other events, repeats and unreadable entries ask for nothing."""
    entries = [
        (b"1-0", {DATA_FIELD: b'{"type": "case.opened", "case_id": 7}'}),
        (b"2-0", {DATA_FIELD: b'{"type": "case.accepted", "case_id": 8}'}),
        (b"3-0", {DATA_FIELD: b'{"type": "case.report_linked", "case_id": 7}'}),
        (b"4-0", {DATA_FIELD: b"not json"}),
        (b"5-0", {DATA_FIELD: b'{"type": "case.report_linked", "case_id": 9}'}),
    ]
    assert cases_to_match(entries) == [7, 9]
