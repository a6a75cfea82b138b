"""Emergency plans on real PostgreSQL and Redis: activations, steps, CAP messages, the outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import asyncpg
import pytest
import redis.asyncio as aioredis

from geo.outline import township_ring
from geo.pack import load_demo_pack
from incidents.cap import CAP_NAMESPACE, CapSender
from incidents.case import Jurisdiction, Location, Report, Reporter
from incidents.lifecycle import open_case
from incidents.plan_events import plan_event_from_json, plan_event_type
from incidents.plan_library import load_library
from incidents.plans import IllegalPlanMove
from incidents.store.case_store import insert_cases, reserve_ids, views_of, write_events
from incidents.store.outbox import claim_unpublished
from incidents.store.plan_service import PlanService
from incidents.store.plan_store import (
    PlanAlreadyActive,
    activations_of_case,
    cap_messages_of,
    find_overdue_steps,
    plan_events_of_case,
    tick_plan_step,
)
from incidents.views import PlaceNames
from incidents.vocabulary import Category, Channel, Severity
from realtime.event_sink import RedisEventSink
from realtime.plan_jobs import run_plan_deadline_job
from realtime.publishing import drain_outbox
from realtime.streams import DATA_FIELD, StreamNames

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
TOWNSHIP = "320118001000"  # 淳溪街道 in the demo pack
SENDER = CapSender("320118.pingan.command", "南京市高淳区社会管理服务中心")
REPORTER = Reporter(name="李建国", phone="13951234567")
_NS = {"cap": CAP_NAMESPACE}


async def stored_case(
    pool: asyncpg.Pool,
    *,
    category: Category = Category.SAFETY_PRODUCTION,
    severity: Severity = Severity.II,
    summary: str = "化工园区一储罐阀门处有刺鼻气味",
) -> int:
    """A case opened and stored the way intake stores it; its id."""
    async with pool.acquire() as conn, conn.transaction():
        [case_id] = await reserve_ids(conn, "case_id_seq", 1)
        case, events = open_case(
            Report(
                source_id=f"110-plan-{case_id}",
                channel=Channel.POLICE_110,
                category=category,
                summary=summary,
                location=Location(118.8747, 31.3246, "淳溪街道 宝塔路 18号"),
                reported_at=T0,
                severity=severity,
                reporter=REPORTER,
            ),
            case_id=case_id,
            case_no=f"320118-20261126-{case_id:04d}",
            jurisdiction=Jurisdiction(county_code="320118", township_code=TOWNSHIP),
            actor="system:ingest",
            now=T0,
        )
        cases = [(case, PlaceNames("淳溪街道", None))]
        await insert_cases(conn, cases, T0)
        await write_events(conn, events, views_of(cases))
        await conn.execute("DELETE FROM event_outbox")  # only plan events interest these tests
    return case_id


def service(pool: asyncpg.Pool, sink: RedisEventSink | None = None) -> PlanService:
    """A plan service with the shipped library and the demo county's township outlines."""
    pack = load_demo_pack()
    return PlanService(
        pool, sink, load_library(), SENDER, lambda code: township_ring(pack, code, 60)
    )


async def outbox_types(conn: asyncpg.Connection) -> list[str]:
    """Types of the events waiting in the outbox, in log order."""
    pending = await claim_unpublished(conn, older_than_seconds=-60, limit=1000)
    return [json.loads(event.payload)["type"] for event in pending]


async def test_activation_stores_steps_the_cap_alert_and_one_outbox_event(
    pool: asyncpg.Pool,
) -> None:
    """Activating writes the activation, every step with its deadline, the Alert and the event."""
    case_id = await stored_case(pool)
    result = await service(pool).activate(case_id, "hazmat-leak", by="duty-wang", now=T0)
    async with pool.acquire() as conn:
        steps = await conn.fetch(
            "SELECT step_no, due_at FROM plan_steps WHERE activation_id = $1 ORDER BY step_no",
            result.activation.activation_id,
        )
        assert [r["step_no"] for r in steps] == list(range(1, 9))
        assert steps[0]["due_at"] == T0 + timedelta(minutes=5)
        messages = await cap_messages_of(conn, result.activation.activation_id)
        assert [m.msg_type.value for m in messages] == ["Alert"]
        assert result.cap is not None and messages[0].xml == result.cap.xml
        assert await outbox_types(conn) == ["plan.activated"]
        stored = await activations_of_case(conn, case_id)
        assert stored == [result.activation]
        # The plan event's id came from the case events' sequence: after the case's own.
        ids = await conn.fetch("SELECT id FROM case_events UNION ALL SELECT id FROM plan_events")
        assert len({r["id"] for r in ids}) == len(ids)


async def test_a_township_plan_warns_the_township_polygon(pool: asyncpg.Pool) -> None:
    """The polder plan's Alert carries the township outline as a closed polygon."""
    case_id = await stored_case(
        pool, category=Category.EMERGENCY, severity=Severity.III, summary="永胜圩圩堤出现管涌"
    )
    result = await service(pool).activate(case_id, "polder-flood", by="duty-wang", now=T0)
    assert result.cap is not None
    area = ET.fromstring(result.cap.xml).find("cap:info/cap:area", _NS)
    assert area is not None
    assert area.findtext("cap:areaDesc", namespaces=_NS) == "淳溪街道"
    pairs = (area.findtext("cap:polygon", namespaces=_NS) or "").split(" ")
    assert len(pairs) >= 4 and pairs[0] == pairs[-1]
    assert area.findtext("cap:geocode/cap:value", namespaces=_NS) == "320118"


async def test_steps_level_and_closure_are_stored_with_update_and_cancel(
    pool: asyncpg.Pool,
) -> None:
    """Tick, raise, close: each an event in order; Update and Cancel reference the messages."""
    case_id = await stored_case(pool)
    plans = service(pool)
    activation = (await plans.activate(case_id, "hazmat-leak", by="duty-wang", now=T0)).activation
    aid = activation.activation_id
    await plans.tick(aid, 1, by="duty-wang", now=T0 + timedelta(minutes=3))
    await plans.tick(aid, 2, by="director-zhou", now=T0 + timedelta(minutes=12))
    raised = await plans.change_level(
        aid, Severity.I, by="director-zhou", now=T0 + timedelta(minutes=15), reason="下风向扩散"
    )
    closed = await plans.close(
        aid, by="director-zhou", now=T0 + timedelta(hours=5), summary="泄漏已封堵，监测达标"
    )
    assert raised.activation.steps == closed.activation.steps
    async with pool.acquire() as conn:
        assert await outbox_types(conn) == [
            "plan.activated",
            "plan.step_done",
            "plan.step_done",
            "plan.level_changed",
            "plan.closed",
        ]
        rows = await conn.fetch(
            "SELECT step_no, done_by, late FROM plan_steps"
            " WHERE activation_id = $1 AND done_at IS NOT NULL ORDER BY step_no",
            aid,
        )
        assert [tuple(r) for r in rows] == [(1, "duty-wang", False), (2, "director-zhou", True)]
        change = await conn.fetchrow(
            "SELECT * FROM plan_level_changes WHERE activation_id = $1", aid
        )
        assert (change["from_level"], change["to_level"], change["reason"]) == (2, 1, "下风向扩散")
        row = await conn.fetchrow(
            "SELECT status, level, summary FROM plan_activations WHERE id = $1", aid
        )
        assert tuple(row) == ("closed", 1, "泄漏已封堵，监测达标")
        messages = await cap_messages_of(conn, aid)
        timeline = await plan_events_of_case(conn, case_id)
    assert [plan_event_type(e) for e in timeline] == [
        "plan.activated",
        "plan.step_done",
        "plan.step_done",
        "plan.level_changed",
        "plan.closed",
    ]
    assert [m.msg_type.value for m in messages] == ["Alert", "Update", "Cancel"]
    cancel = ET.fromstring(messages[2].xml)
    references = (cancel.findtext("cap:references", namespaces=_NS) or "").split(" ")
    assert [ref.split(",")[1] for ref in references] == [m.identifier for m in messages[:2]]


async def test_an_illegal_move_changes_nothing(pool: asyncpg.Pool) -> None:
    """Closing twice, ticking a closed plan, activating a running plan again: refused, no trace."""
    case_id = await stored_case(pool)
    plans = service(pool)
    aid = (await plans.activate(case_id, "hazmat-leak", by="d", now=T0)).activation.activation_id
    with pytest.raises(PlanAlreadyActive):
        await plans.activate(case_id, "hazmat-leak", by="d", now=T0)
    await plans.close(aid, by="d", now=T0 + timedelta(hours=1), summary="处置完毕")
    async with pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM plan_events")
        messages_before = await conn.fetchval("SELECT count(*) FROM plan_cap_messages")
    with pytest.raises(IllegalPlanMove, match="closed"):
        await plans.close(aid, by="d", now=T0 + timedelta(hours=2), summary="再次关闭")
    with pytest.raises(IllegalPlanMove, match="closed"):
        await plans.tick(aid, 3, by="d", now=T0 + timedelta(hours=2))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM plan_events") == before
        assert await conn.fetchval("SELECT count(*) FROM plan_cap_messages") == messages_before
        assert await conn.fetchval("SELECT count(*) FROM plan_activations") == 1


async def test_overdue_steps_are_found_and_announced_once(pool: asyncpg.Pool) -> None:
    """Steps past their deadline are found, announced once each; done steps never are."""
    case_id = await stored_case(pool)
    plans = service(pool)
    aid = (await plans.activate(case_id, "hazmat-leak", by="d", now=T0)).activation.activation_id
    await plans.tick(aid, 1, by="d", now=T0 + timedelta(minutes=2))
    later = T0 + timedelta(minutes=11)
    async with pool.acquire() as conn:
        found = await find_overdue_steps(conn, later)
    assert [(s.activation_id, s.step_no) for s in found] == [(aid, 2), (aid, 3)]
    assert await plans.record_overdue(later) == 2
    assert await plans.record_overdue(later) == 0
    async with pool.acquire() as conn:
        assert await find_overdue_steps(conn, later) == []
        assert (await outbox_types(conn))[-2:] == ["plan.step_overdue", "plan.step_overdue"]


async def test_a_plan_is_proposed_to_a_case_once(pool: asyncpg.Pool) -> None:
    """The same case proposed twice gives one plan.proposed event."""
    case_id = await stored_case(pool)
    plans = service(pool)
    assert await plans.propose(case_id, now=T0) == ["hazmat-leak"]
    assert await plans.propose(case_id, now=T0 + timedelta(minutes=1)) == ["hazmat-leak"]
    async with pool.acquire() as conn:
        assert await outbox_types(conn) == ["plan.proposed"]


async def test_plan_events_go_out_once_with_no_personal_data(
    pool: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Published live, then the outbox drain adds nothing; no reporter data on the stream."""
    case_id = await stored_case(pool)
    plans = service(pool, RedisEventSink(redis, names))
    aid = (await plans.activate(case_id, "hazmat-leak", by="d", now=T0)).activation.activation_id
    # An event left behind as if the writer crashed after commit, before publishing.
    async with pool.acquire() as conn, conn.transaction():
        await tick_plan_step(conn, aid, 1, by="d", now=T0 + timedelta(minutes=1))
    seen, published = await drain_outbox(
        redis, pool, names, older_than_seconds=-60, storage_timeout_seconds=5, maxlen=10_000
    )
    assert (seen, published) == (1, 1)
    assert await drain_outbox(
        redis, pool, names, older_than_seconds=-60, storage_timeout_seconds=5, maxlen=10_000
    ) == (0, 0)
    entries = await redis.xrange(names.events)
    raw = [fields[DATA_FIELD] for _, fields in entries]
    documents = [json.loads(data) for data in raw]
    assert [d["type"] for d in documents] == ["plan.activated", "plan.step_done"]
    assert all(d["case_id"] == case_id and d["township_code"] == TOWNSHIP for d in documents)
    assert all(isinstance(d["event_id"], int) for d in documents)
    for data in raw:
        assert REPORTER.name.encode() not in data and REPORTER.phone.encode() not in data
        body = json.loads(data)
        del body["event_id"]
        plan_event_from_json(json.dumps(body))  # a valid plan event


async def test_the_plan_event_log_is_append_only(pool: asyncpg.Pool) -> None:
    """Nobody updates or deletes a plan event."""
    case_id = await stored_case(pool)
    await service(pool).activate(case_id, "hazmat-leak", by="d", now=T0)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE plan_events SET actor = 'someone else'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM plan_events")


async def test_two_officers_ticking_one_step_at_once_give_one_tick(pool: asyncpg.Pool) -> None:
    """The row lock serialises them: one records the tick, the other is told who did it."""
    case_id = await stored_case(pool)
    plans = service(pool)
    aid = (await plans.activate(case_id, "hazmat-leak", by="d", now=T0)).activation.activation_id
    results = await asyncio.gather(
        plans.tick(aid, 1, by="duty-wang", now=T0 + timedelta(minutes=1)),
        plans.tick(aid, 1, by="duty-li", now=T0 + timedelta(minutes=1)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], IllegalPlanMove)
    assert "already done by" in str(refused[0])
    async with pool.acquire() as conn:
        assert (await outbox_types(conn)).count("plan.step_done") == 1


async def test_the_plan_deadline_job_announces_overdue_steps(pool: asyncpg.Pool) -> None:
    """One tick of the job at +11 minutes announces the three steps then overdue."""
    case_id = await stored_case(pool)
    plans = service(pool)
    await plans.activate(case_id, "hazmat-leak", by="d", now=T0)
    stop = asyncio.Event()

    def clock() -> datetime:
        stop.set()  # one tick, then the loop ends
        return T0 + timedelta(minutes=11)

    await asyncio.wait_for(run_plan_deadline_job(plans, stop, clock, every_seconds=0.01), 30)
    async with pool.acquire() as conn:
        assert (await outbox_types(conn)).count("plan.step_overdue") == 3
