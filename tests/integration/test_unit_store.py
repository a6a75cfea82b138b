"""Forces on real PostgreSQL and Redis: the fleet, one-transaction dispatch, reports, rosters,
patrols, and every change landing once in the outbox and on the events stream."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from geo.pack import load_demo_pack
from geo.recommend import recommend
from geo.routing import Router
from incidents.case import DispatchTarget
from incidents.commands import Accept, Acknowledge, Arrive, Dispatch, ReportFeedback, StandDown
from incidents.lifecycle import IllegalMove
from incidents.patrols import Fix
from incidents.store import unit_store
from incidents.store.case_store import ConcurrentChange
from incidents.store.demo_fleet import load_demo_units
from incidents.store.outbox import claim_unpublished
from incidents.store.service import CaseService, StaleCase
from incidents.units import (
    IllegalUnitMove,
    UnitNotAvailable,
    UnitStatus,
    UnitType,
    recommendation_inputs,
    report,
)
from realtime.event_sink import RedisEventSink
from realtime.streams import StreamNames
from realtime.terminals import AckTask, Arrival, Feedback, TerminalGate, TerminalInbox
from tests.integration.test_case_service import open_one
from tests.integration.test_ingest import FIXED_NOW, valid_lines

pytestmark = pytest.mark.integration

# 13:30 UTC is 21:30 in China: the night shift.
NOW = FIXED_NOW
CAR = "patrol-01-1"  # round the clock
TOWNSHIP = "320118001000"


@pytest.fixture
async def fleet(pool: asyncpg.Pool) -> asyncpg.Pool:
    """The pool of a database with the demo fleet loaded."""
    async with pool.acquire() as conn:
        await load_demo_units(conn, load_demo_pack(), at=NOW - timedelta(hours=1))
    return pool


async def published(redis: aioredis.Redis, names: StreamNames) -> list[dict[str, Any]]:
    entries = await redis.xrange(names.events)
    return [json.loads(fields[b"data"]) for _, fields in entries]


async def outbox_rows(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM event_outbox")
    return count


async def accepted_case(pool: asyncpg.Pool, service: CaseService) -> int:
    case_id = await open_one(pool, valid_lines()[0])
    await service.execute(case_id, Accept(actor="duty-li"), now=NOW)
    return case_id


async def test_demo_fleet_gives_every_township_its_forces_and_loads_once(
    fleet: asyncpg.Pool,
) -> None:
    """Each township: patrols, joint defence, mediators, a social worker, a grid worker per
    village and a patrol route; the county seat: fire, ambulance, hazmat, rescue; twice is once."""
    pack = load_demo_pack()
    async with fleet.acquire() as conn:
        again = await load_demo_units(conn, pack, at=NOW)
        records = await unit_store.unit_records(conn)
        routes = await unit_store.load_routes(conn)
        rosters = await unit_store.load_rosters(conn)
    assert (again.units, again.routes) == (0, 0)
    by_township: dict[str | None, list[UnitType]] = {}
    for r in records:
        by_township.setdefault(r.township_code, []).append(r.unit.type)
    for township in pack.townships:
        kinds = by_township[township.code]
        villages = [v for v in pack.villages if v.parent_code == township.code]
        assert kinds.count(UnitType.PATROL_CAR) == 3
        assert kinds.count(UnitType.FOOT_PATROL) == 2
        assert kinds.count(UnitType.JOINT_DEFENCE) == 1
        assert kinds.count(UnitType.MEDIATOR) == 2
        assert kinds.count(UnitType.SOCIAL_WORKER) == 1
        assert kinds.count(UnitType.GRID_WORKER) == len(villages)
    county = by_township[None]
    assert {UnitType.FIRE_ENGINE, UnitType.AMBULANCE, UnitType.HAZMAT_TEAM} <= set(county)
    assert UnitType.RESCUE_TEAM in county
    assert sorted(r.township_code for r in routes) == sorted(t.code for t in pack.townships)
    assert all(len(r.points) >= 5 for r in routes)
    assert set(rosters) == {r.unit.unit_id for r in records}


async def test_dispatch_moves_the_case_and_the_unit_in_one_transaction_one_event_each(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """The dispatch records the recommendation followed; one case and one unit event go out."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    before = len(await published(redis, names))
    result = await service.dispatch_unit(
        case_id, CAR, actor="duty-li", now=NOW, recommendation_rank=2
    )
    assert result.unit.status is UnitStatus.DISPATCHED
    assert result.unit.dispatched_at == NOW and result.unit.case_id == case_id
    assert [a.unit_id for a in result.case.assignments] == [CAR]
    events = (await published(redis, names))[before:]
    assert [e["type"] for e in events] == ["case.dispatched", "unit.status_changed"]
    unit_event = events[1]
    assert unit_event["schema"] == "event/1" and unit_event["actor"] == "duty-li"
    assert unit_event["township_code"] == TOWNSHIP and unit_event["case_id"] == case_id
    assert unit_event["recommendation_rank"] == 2 and unit_event["overridden"] is False
    assert events[0]["event_id"] < unit_event["event_id"]
    assert await outbox_rows(fleet) == 0
    async with fleet.acquire() as conn:
        history = await unit_store.status_history(conn, CAR)
    assert [h.event_id for h in history] == [unit_event["event_id"]]


async def test_a_busy_unit_is_dispatched_only_with_an_override_that_is_recorded(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Without a reason nothing changes (case or unit); with one, the status it had is kept."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    await service.report_unit_status(CAR, UnitStatus.BUSY, now=NOW)
    version = (await service.load(case_id)).version
    with pytest.raises(UnitNotAvailable):
        await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW)
    with pytest.raises(UnitNotAvailable):
        await service.execute(
            case_id, Dispatch(actor="duty-li", targets=(DispatchTarget(CAR),)), now=NOW
        )
    assert (await service.load(case_id)).version == version
    assert (await service.unit(CAR)).status is UnitStatus.BUSY
    result = await service.dispatch_unit(
        case_id, CAR, actor="duty-li", now=NOW, override_reason="最近且已处理完毕"
    )
    assert result.change.before is UnitStatus.BUSY and result.change.overridden
    assert result.change.reason == "最近且已处理完毕"
    assert result.unit.busy_at == NOW  # the earlier milestone stays stamped
    case_event = (await published(redis, names))[-2]
    assert case_event["type"] == "case.dispatched" and case_event["reason"] == "最近且已处理完毕"


async def test_a_dispatch_on_a_changed_case_changes_neither_case_nor_unit(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """An officer acting on an old version gets StaleCase; the unit stays available."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    before = len(await published(redis, names))
    with pytest.raises(StaleCase):
        await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW, expected_version=1)
    # A lifecycle refusal (the same unit twice) also rolls the unit back.
    await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW)
    with pytest.raises((IllegalMove, UnitNotAvailable)):
        await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW, override_reason="再派")
    state = await service.unit(CAR)
    assert state.status is UnitStatus.DISPATCHED and state.version == 2
    assert len(await published(redis, names)) == before + 2


async def test_both_events_wait_in_the_outbox_when_they_cannot_be_published(
    fleet: asyncpg.Pool,
) -> None:
    """No sink (Redis down): the case and unit events are committed and left for the drain."""
    service = CaseService(fleet, None)
    case_id = await accepted_case(fleet, service)
    async with fleet.acquire() as conn:
        await conn.execute("DELETE FROM event_outbox")  # the accept's, as if published
    await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW, recommendation_rank=1)
    async with fleet.acquire() as conn:
        waiting = await claim_unpublished(conn, older_than_seconds=-1)
    kinds = [json.loads(e.payload)["type"] for e in waiting]
    assert kinds == ["case.dispatched", "unit.status_changed"]
    assert [json.loads(e.payload)["event_id"] for e in waiting] == [e.event_id for e in waiting]
    decoded = unit_store.decode_unit_event(waiting[1].payload)
    assert isinstance(decoded, unit_store.UnitStatusChanged) and decoded.unit_id == CAR


async def test_the_units_reports_on_its_task_move_it_and_only_it_says_available(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Ack → en route, arrival → on scene, completion → returning, its report → available."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW)
    actor = f"unit:{CAR}"
    t = NOW
    for command in (
        Acknowledge(actor=actor, unit_id=CAR),
        Arrive(actor=actor, unit_id=CAR),
        ReportFeedback(actor=actor, unit_id=CAR, text="已处置", completed=True),
    ):
        t += timedelta(minutes=4)
        await service.execute(case_id, command, now=t)
    state = await service.unit(CAR)
    assert state.status is UnitStatus.RETURNING
    assert (state.en_route_at, state.on_scene_at, state.returning_at) == (
        NOW + timedelta(minutes=4),
        NOW + timedelta(minutes=8),
        NOW + timedelta(minutes=12),
    )
    with pytest.raises(IllegalUnitMove):
        await service.decide_unit_status(
            CAR, UnitStatus.AVAILABLE, actor="duty-li", reason=" ", now=t
        )
    back = await service.report_unit_status(CAR, UnitStatus.AVAILABLE, now=t + timedelta(minutes=9))
    assert back.unit.case_id is None and back.unit.dispatched_at == NOW
    events = await published(redis, names)
    unit_events = [e["after"] for e in events if e["type"] == "unit.status_changed"]
    assert unit_events == ["dispatched", "en_route", "on_scene", "returning", "available"]
    assert not any("reporter" in json.dumps(e) for e in events if e["type"].startswith("unit."))


async def test_standing_a_unit_down_is_a_recorded_decision(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """撤回 sends the unit back (returning) with the commander's reason on its history."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW)
    await service.execute(
        case_id, StandDown(actor="duty-wang", unit_id=CAR, reason="另有警情"), now=NOW
    )
    async with fleet.acquire() as conn:
        history = await unit_store.status_history(conn, CAR)
    last = history[-1].change
    assert (last.after, last.actor, last.reason) == (UnitStatus.RETURNING, "duty-wang", "另有警情")


async def test_rosters_take_idle_day_units_off_duty_at_night_but_not_units_on_a_task(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """At 21:30 China time day-shift units go off duty, each change an event; busy ones stay."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    mediator = "med-01-1"
    await service.dispatch_unit(case_id, mediator, actor="duty-li", now=NOW)
    changed = await service.apply_rosters(NOW)
    assert changed > 0
    assert (await service.unit(mediator)).status is UnitStatus.DISPATCHED
    assert (await service.unit("med-01-2")).status is UnitStatus.OFF_DUTY
    assert (await service.unit(CAR)).status is UnitStatus.AVAILABLE  # round the clock
    assert await service.apply_rosters(NOW) == 0
    events = [e for e in await published(redis, names) if e.get("cause") == "roster"]
    assert len(events) == changed and all(e["actor"] == "system:roster" for e in events)


async def test_patrol_check_ins_and_alarms_are_stored_and_published_once(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """The same positions read twice (after a crash) add nothing the second time."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    async with fleet.acquire() as conn:
        [route] = await unit_store.load_routes(conn, TOWNSHIP)
    first, second = route.points[0], route.points[1]
    fixes = [Fix(first.lon, first.lat, NOW + timedelta(minutes=m)) for m in range(0, 20, 2)]
    fixes.append(Fix(second.lon, second.lat, NOW + timedelta(minutes=30)))
    fixes.append(Fix(122.0, 30.0, NOW + timedelta(minutes=40)))  # far out at sea
    result = await service.record_patrol(route, CAR, fixes)
    assert [c.point_id for c in result.check_ins] == [first.point_id, second.point_id]
    assert sorted(a.kind.value for a in result.alarms) == ["left_area", "standing_still"]
    assert result.published == 4
    again = await service.record_patrol(route, CAR, fixes)
    assert again.published == 0
    types = [e["type"] for e in await published(redis, names)]
    assert types.count("unit.checked_in") == 2 and types.count("patrol.alarm") == 2


async def test_unit_records_feed_the_recommendation_with_busy_units_flagged(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Real units with statuses and positions: a dispatched unit ranks after every free one."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW)
    pack = load_demo_pack()
    seat = next(p for p in pack.places if p.township_code == TOWNSHIP)
    async with fleet.acquire() as conn:
        records = await unit_store.unit_records(conn, TOWNSHIP[:9])
    fixes = {r.unit.unit_id: (seat.lon + 0.01, seat.lat, NOW) for r in records}
    fixes[CAR] = (seat.lon, seat.lat, NOW)  # the nearest of all
    units = recommendation_inputs(records, fixes)
    router = Router.from_pack(pack)
    picks = recommend(
        router,
        seat.lon,
        seat.lat,
        units,
        NOW,
        category="public_security",
        k=50,
        include_unavailable=True,
    )
    assert picks[-1].unit_id == CAR and not picks[-1].available
    assert "dispatched" in picks[-1].reason
    assert all(p.available for p in picks[:-1])
    plain = recommend(router, seat.lon, seat.lat, units, NOW, category="public_security", k=50)
    assert CAR not in {p.unit_id for p in plain}


async def test_history_cannot_be_rewritten(fleet: asyncpg.Pool) -> None:
    """The status history is append-only, whoever connects."""
    service = CaseService(fleet, None)
    await service.report_unit_status(CAR, UnitStatus.BUSY, now=NOW)
    async with fleet.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE unit_status_history SET actor = 'someone'")


async def test_two_writers_of_one_unit_cannot_both_win(fleet: asyncpg.Pool) -> None:
    """A write from a stale unit state is refused, not applied over the newer one."""
    async with fleet.acquire() as conn:
        state = await unit_store.load_state(conn, CAR)

        first = report(state, UnitStatus.BUSY, NOW, "unit:x")
        await unit_store.write_status_change(conn, *first, TOWNSHIP)
        with pytest.raises(ConcurrentChange):
            await unit_store.write_status_change(conn, *first, TOWNSHIP)


async def test_terminal_messages_move_the_fleet_unit_through_the_inbox(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Ack, arrival and completion sent from the unit's terminal move the unit's status too."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW, recommendation_rank=1)
    gate = TerminalGate(redis, names)
    messages = [
        AckTask(seq=1, case_id=case_id),
        Arrival(seq=2, case_id=case_id),
        Feedback(seq=3, case_id=case_id, text="纠纷已调处", completed=True),
    ]
    for message in messages:
        assert (await gate.accept("pda-01-1", CAR, message)).outcome == "accepted"
    inbox = TerminalInbox(
        redis, fleet, service, names=names, consumer="inbox-1", clock=lambda: NOW, block_ms=50
    )
    await inbox.ensure_group()
    while await inbox.process_once():
        pass
    assert inbox.stats.applied == 3
    state = await service.unit(CAR)
    assert state.status is UnitStatus.RETURNING and state.returning_at == NOW
    async with fleet.acquire() as conn:
        history = await unit_store.status_history(conn, CAR)
    assert [h.change.actor for h in history[1:]] == [f"unit:{CAR}"] * 3
    # The state is its history: one row per change since the first state (version 1).
    assert state.version == len(history) + 1 == history[-1].change.version


async def test_when_the_units_write_fails_the_cases_dispatch_is_rolled_back(
    fleet: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Both or neither: the case row is written first, so a failing unit write must undo it."""
    service = CaseService(fleet, RedisEventSink(redis, names))
    case_id = await accepted_case(fleet, service)
    version = (await service.load(case_id)).version
    async with fleet.acquire() as conn:
        await conn.execute(
            """CREATE FUNCTION refuse_history() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'history refused'; END; $$;
            CREATE TRIGGER refuse BEFORE INSERT ON unit_status_history
                FOR EACH ROW EXECUTE FUNCTION refuse_history();"""
        )
        outbox_before = await conn.fetchval("SELECT count(*) FROM event_outbox")
    before = len(await published(redis, names))
    with pytest.raises(asyncpg.RaiseError, match="history refused"):
        await service.dispatch_unit(case_id, CAR, actor="duty-li", now=NOW)
    with pytest.raises(asyncpg.RaiseError, match="history refused"):
        await service.execute(
            case_id, Dispatch(actor="duty-li", targets=(DispatchTarget(CAR),)), now=NOW
        )
    assert (await service.load(case_id)).version == version
    assert (await service.unit(CAR)).status is UnitStatus.AVAILABLE
    async with fleet.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM case_assignments") == 0
        assert await conn.fetchval("SELECT count(*) FROM event_outbox") == outbox_before
    assert len(await published(redis, names)) == before


async def test_dispatching_a_unit_not_in_the_fleet_changes_nothing(fleet: asyncpg.Pool) -> None:
    """dispatch_unit names fleet units only: an unknown id is UnitNotFound, the case as it was."""
    service = CaseService(fleet, None)
    case_id = await accepted_case(fleet, service)
    version = (await service.load(case_id)).version
    with pytest.raises(unit_store.UnitNotFound):
        await service.dispatch_unit(case_id, "ghost-1", actor="duty-li", now=NOW)
    assert (await service.load(case_id)).version == version
