"""The incident core on real PostgreSQL: commands, concurrency, the log, the outbox, merging."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
import redis.asyncio as aioredis

from incidents.case import CaseStatus, DispatchTarget, Satisfaction
from incidents.commands import (
    Accept,
    Acknowledge,
    Arrive,
    Dispatch,
    EvaluateAndArchive,
    HandDown,
    ReportFeedback,
    Verify,
)
from incidents.lifecycle import IllegalMove, replay
from incidents.reports import AcceptedReport
from incidents.store.deadline_job import escalate_overdue
from incidents.store.outbox import claim_unpublished, mark_published
from incidents.store.queries import case_events, open_cases, resolution_level
from incidents.store.service import CaseService, StaleCase
from incidents.views import CaseView
from incidents.vocabulary import Step, Tier
from realtime.event_sink import RedisEventSink
from realtime.intake_contract import decode_document
from realtime.streams import StreamNames
from tests.integration.forming import accept, form_reports
from tests.integration.test_ingest import FIXED_NOW, demo_locate, valid_lines

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent


def accepted(
    line: str, *, source_id: str | None = None, at: datetime = FIXED_NOW
) -> AcceptedReport:
    """An intake line as the worker would accept it (optionally under another source_id)."""
    document = json.loads(line)
    if source_id is not None:
        document["source_id"] = source_id
    report = decode_document(json.dumps(document, ensure_ascii=False).encode())
    return accept(report, demo_locate(), at)


async def open_one(pool: asyncpg.Pool, line: str, **kwargs: Any) -> int:
    async with pool.acquire() as conn:
        events = await form_reports(conn, [accepted(line, **kwargs)])
        await mark_published(conn, [e.event_id for e in events])  # as the worker would
    return int(json.loads(events[0].payload)["case_id"])


async def test_the_whole_loop_is_stored_and_replays(
    pool: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Intake → accept → dispatch → feedback → verify → archive, each a stored, published step."""
    service = CaseService(pool, RedisEventSink(redis, names))
    case_id = await open_one(pool, valid_lines()[0])
    t = FIXED_NOW
    steps = [
        Accept(actor="duty-li"),
        Dispatch(actor="duty-li", targets=(DispatchTarget("patrol-07", name="城区巡逻7组"),)),
        Acknowledge(actor="patrol-07", unit_id="patrol-07"),
        Arrive(actor="patrol-07", unit_id="patrol-07"),
        ReportFeedback(
            actor="patrol-07", unit_id="patrol-07", text="已劝离，无人受伤", completed=True
        ),
        Verify(actor="duty-wang", passed=True),
        EvaluateAndArchive(actor="duty-wang", satisfaction=Satisfaction.SATISFIED),
    ]
    for minute, command in enumerate(steps, start=1):
        result = await service.execute(case_id, command, now=t + timedelta(minutes=minute))
    assert result.case.status is CaseStatus.ARCHIVED
    assert result.case.step is Step.ARCHIVE

    async with pool.acquire() as conn:
        log = await case_events(conn, case_id)
        row = await conn.fetchrow(
            "SELECT status, step, version, owner, resolution_tier FROM cases WHERE id = $1",
            case_id,
        )
        assignment = await conn.fetchrow(
            "SELECT * FROM case_assignments WHERE case_id = $1", case_id
        )
        evaluation = await conn.fetchrow(
            "SELECT * FROM case_evaluations WHERE case_id = $1", case_id
        )
        outbox = await conn.fetchval("SELECT count(*) FROM event_outbox")
    assert replay(log) == await service.load(case_id) == result.case
    assert (row["status"], row["step"], row["owner"]) == ("archived", "archive", "duty-li")
    assert row["version"] == result.case.version
    assert row["resolution_tier"] == Tier.COUNTY.value
    assert assignment["status"] == "completed" and assignment["arrived_at"] is not None
    assert evaluation["satisfaction"] == "satisfied"
    assert outbox == 0, "published events leave the outbox"
    published = [json.loads(f[b"data"]) for _, f in await redis.xrange(names.events)]
    assert [e["seq"] for e in published] == [e.seq for e in log[1:]]
    assert published[-1]["case"]["status"] == "archived"


async def test_illegal_move_changes_nothing(pool: asyncpg.Pool) -> None:
    """Verifying a case still at intake is refused, naming the case and step; nothing stored."""
    service = CaseService(pool, None)
    case_id = await open_one(pool, valid_lines()[2])
    with pytest.raises(IllegalMove, match=r"320118-\d{8}-\d{4}.*intake.*verify"):
        await service.execute(case_id, Verify(actor="duty-wang", passed=True), now=FIXED_NOW)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT version FROM cases WHERE id = $1", case_id) == 1
        assert (
            await conn.fetchval("SELECT count(*) FROM case_events WHERE case_id = $1", case_id) == 1
        )


async def test_two_officers_at_once_exactly_one_wins(pool: asyncpg.Pool, database_url: str) -> None:
    """Two concurrent accepts on version 1 from separate connections: one wins, one is told why."""
    case_id = await open_one(pool, valid_lines()[2])
    other_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        first = CaseService(pool, None)
        second = CaseService(other_pool, None)
        results = await asyncio.gather(
            first.execute(case_id, Accept(actor="duty-li"), now=FIXED_NOW, expected_version=1),
            second.execute(case_id, Accept(actor="duty-zhao"), now=FIXED_NOW, expected_version=1),
            return_exceptions=True,
        )
    finally:
        await other_pool.close()
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], StaleCase)
    assert "changed by" in str(losses[0]) and "reload" in str(losses[0])
    assert losses[0].changed_by == wins[0].case.owner  # type: ignore[union-attr]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT version FROM cases WHERE id = $1", case_id) == 2


async def test_event_log_is_append_only(pool: asyncpg.Pool) -> None:
    """UPDATE, DELETE and TRUNCATE of the event log are refused by the database."""
    await open_one(pool, valid_lines()[2])
    async with pool.acquire() as conn:
        for statement in (
            "UPDATE case_events SET actor = 'someone-else'",
            "DELETE FROM case_events",
            "TRUNCATE case_events CASCADE",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM case_events") == 1


_CRASH_AFTER_COMMIT = """
import asyncio, os, signal, sys
from datetime import datetime, timezone
import asyncpg
from incidents.commands import Accept
from incidents.store.service import CaseService

class Sink:
    async def publish(self, events):
        raise AssertionError("the process must die before publishing")

async def main():
    pool = await asyncpg.create_pool(sys.argv[1], min_size=1, max_size=1)
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    service = CaseService(pool, Sink(), after_commit=die)
    await service.execute(int(sys.argv[2]), Accept(actor="duty-li"),
                          now=datetime(2026, 11, 26, 13, 40, tzinfo=timezone.utc))

asyncio.run(main())
"""


async def test_crash_between_commit_and_publish_loses_no_event(
    pool: asyncpg.Pool, database_url: str, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Kill -9 right after commit: the event waits in the outbox and the drain publishes it."""
    case_id = await open_one(pool, valid_lines()[2])
    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CRASH_AFTER_COMMIT,
        database_url,
        str(case_id),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(crashed.communicate(), 60)
    assert crashed.returncode == -9, stderr.decode()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT owner FROM cases WHERE id = $1", case_id) == "duty-li"
        async with conn.transaction():
            pending = await claim_unpublished(conn, older_than_seconds=0)
    assert len(pending) == 1
    event = json.loads(pending[0].payload)
    assert (event["type"], event["case_id"], event["actor"]) == (
        "case.accepted",
        case_id,
        "duty-li",
    )
    assert event["case"]["owner"] == "duty-li"
    # What screens are sent: exactly the view fields the accept changed.
    assert set(event["changes"]) == {"step", "owner", "version", "deadline_at"}
    assert event["changes"]["owner"] == "duty-li"


async def test_merging_under_concurrent_intake(pool: asyncpg.Pool, database_url: str) -> None:
    """Reports of one fight arriving at two workers at the same moment still make one case."""
    other_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    first, second = valid_lines()[0], valid_lines()[1]
    try:
        for round_no in range(10):
            at = FIXED_NOW + timedelta(days=round_no)  # outside each other's merge window
            a = accepted(first, source_id=f"race-{round_no}-a", at=at)
            b = accepted(second, source_id=f"race-{round_no}-b", at=at)
            a = _shift(a, at)
            b = _shift(b, at)

            async def write(p: asyncpg.Pool, report: AcceptedReport) -> None:
                async with p.acquire() as conn:
                    await form_reports(conn, [report])

            await asyncio.gather(write(pool, a), write(other_pool, b))
    finally:
        await other_pool.close()
    async with pool.acquire() as conn:
        cases = await conn.fetchval("SELECT count(*) FROM cases")
        reports = await conn.fetchval("SELECT count(*) FROM case_reports")
    assert (cases, reports) == (10, 20)


def _shift(report: AcceptedReport, at: datetime) -> AcceptedReport:
    from dataclasses import replace

    return replace(report, reported_at=at, received_at=at)


async def test_overdue_case_escalates_once(pool: asyncpg.Pool) -> None:
    """A grid report not accepted in time is recorded overdue and goes up one tier, once."""
    grid_line = next(line for line in valid_lines() if json.loads(line)["channel"] == "grid")
    case_id = await open_one(pool, grid_line)
    service = CaseService(pool, None)
    before = await service.load(case_id)
    assert before.owning_tier is Tier.VILLAGE
    assert before.deadline is not None
    late = before.deadline.due_at + timedelta(minutes=1)
    assert await escalate_overdue(pool, service, late) == 1
    after = await service.load(case_id)
    assert after.owning_tier is Tier.TOWNSHIP
    assert after.counters.overdue == 1
    assert await escalate_overdue(pool, service, late + timedelta(minutes=5)) == 0
    async with pool.acquire() as conn:
        types = [e.type.value for e in await case_events(conn, case_id)]
    assert types.count("case.overdue") == 1
    assert "case.escalated" in types


async def test_resolution_level_counts_the_tier_that_resolved(pool: asyncpg.Pool) -> None:
    """A case handed down to its township and archived there counts as resolved below county."""
    service = CaseService(pool, None)
    case_id = await open_one(pool, valid_lines()[2])
    t = FIXED_NOW
    for minute, command in enumerate(
        [
            Accept(actor="duty-li"),
            HandDown(actor="duty-li", to_tier=Tier.TOWNSHIP, reason="邻里纠纷由街道调解"),
            Dispatch(actor="duty-li", targets=(DispatchTarget("mediator-3", name="调解员"),)),
            Acknowledge(actor="mediator-3", unit_id="mediator-3"),
            Arrive(actor="mediator-3", unit_id="mediator-3"),
            ReportFeedback(actor="mediator-3", unit_id="mediator-3", text="已调解", completed=True),
            Verify(actor="chunxi-zhou", passed=True),
            EvaluateAndArchive(actor="chunxi-zhou", satisfaction=Satisfaction.BASICALLY_SATISFIED),
        ],
        start=1,
    ):
        await service.execute(case_id, command, now=t + timedelta(minutes=minute))
    async with pool.acquire() as conn:
        level = await resolution_level(conn)
        none_yet = await resolution_level(conn, "320118101")
    assert (level.archived, level.at_township_or_below, level.share) == (1, 1, 1.0)
    assert none_yet.share is None


async def test_manual_merge_and_split(
    pool: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Merging folds a duplicate into a case; splitting gives a report back its own case."""
    service = CaseService(pool, RedisEventSink(redis, names))
    target_id = await open_one(pool, valid_lines()[2])
    duplicate_id = await open_one(pool, valid_lines()[3])
    merged = await service.merge(
        duplicate_id, target_id, actor="duty-li", now=FIXED_NOW, reason="同一事件重复来电"
    )
    assert merged.duplicate.status is CaseStatus.MERGED
    moved = json.loads(valid_lines()[3])["source_id"]
    assert merged.target.report_count == 2
    async with pool.acquire() as conn:
        owner = await conn.fetchval("SELECT case_id FROM case_reports WHERE source_id = $1", moved)
    assert owner == target_id

    place = demo_locate()(118.7602, 31.3401)
    split = await service.split(
        target_id,
        moved,
        jurisdiction=place.jurisdiction,
        names=place.names,
        actor="duty-li",
        reason="不是同一事件",
        now=FIXED_NOW + timedelta(minutes=5),
    )
    assert split.case.report_count == 1
    assert split.new_case.source_id == moved
    assert split.new_case.case_no.startswith("320118-")
    async with pool.acquire() as conn:
        owner = await conn.fetchval("SELECT case_id FROM case_reports WHERE source_id = $1", moved)
        for case_id in (target_id, duplicate_id, split.new_case.case_id):
            assert replay(await case_events(conn, case_id)) == await service.load(case_id)
    assert owner == split.new_case.case_id
    # Which reports are linked is the store's knowledge: the service refuses the others.
    with pytest.raises(IllegalMove, match="not linked"):
        await service.split(
            target_id,
            "12345-not-here",
            jurisdiction=place.jurisdiction,
            names=place.names,
            actor="duty-li",
            reason="x",
            now=FIXED_NOW + timedelta(minutes=6),
        )


async def test_published_view_matches_the_snapshot_view(pool: asyncpg.Pool) -> None:
    """A case looks the same on screens whether it came by delta or in a snapshot."""
    async with pool.acquire() as conn:
        events = await form_reports(conn, [accepted(valid_lines()[0])])
        published = json.loads(events[0].payload)["case"]
        (snapshot,) = await open_cases(conn, "320118", 10)
    assert published == msgspec.to_builtins(snapshot)
    assert msgspec.convert(published, CaseView) == snapshot


async def test_a_service_whose_copy_is_behind_rereads_instead_of_overwriting(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Another process changed the case: this one's remembered copy is never written over it."""
    case_id = await open_one(pool, valid_lines()[2])
    here = CaseService(pool, None)
    await here.execute(case_id, Accept(actor="duty-li"), now=FIXED_NOW)  # remembers version 2
    other_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        elsewhere = CaseService(other_pool, None)
        await elsewhere.execute(
            case_id,
            Dispatch(actor="duty-li", targets=(DispatchTarget("patrol-01"),)),
            now=FIXED_NOW + timedelta(minutes=1),
        )  # version 3, unknown here
    finally:
        await other_pool.close()
    # An officer who saw version 3 acts: allowed, decided on version 3, not on the old copy.
    acked = await here.execute(
        case_id,
        Acknowledge(actor="patrol-01", unit_id="patrol-01"),
        now=FIXED_NOW + timedelta(minutes=2),
        expected_version=3,
    )
    assert acked.case.version == 4
    # A system command with no expected version also lands on the latest state.
    arrived = await here.execute(
        case_id,
        Arrive(actor="patrol-01", unit_id="patrol-01"),
        now=FIXED_NOW + timedelta(minutes=3),
    )
    assert arrived.case.version == 5
    async with pool.acquire() as conn:
        assert replay(await case_events(conn, case_id)) == arrived.case
    with pytest.raises(StaleCase, match="changed by patrol-01"):
        await here.execute(
            case_id, Verify(actor="duty-wang", passed=True), now=FIXED_NOW, expected_version=4
        )
