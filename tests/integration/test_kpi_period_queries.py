"""The trends page's figures on real PostgreSQL: cases moved through the loop by the service."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import pytest

from incidents.access import Principal, Role
from incidents.case import DispatchTarget, Satisfaction
from incidents.commands import (
    Accept,
    Acknowledge,
    Arrive,
    Command,
    Dispatch,
    EvaluateAndArchive,
    ReportFeedback,
    Verify,
)
from incidents.store import guarded, kpi_queries
from incidents.store.guarded import Caller
from incidents.store.service import CaseService
from incidents.trends import last_24_hours, last_30_days
from tests.integration.test_ingest import valid_lines
from tests.integration.test_queries import opened

pytestmark = pytest.mark.integration

COUNTY = "320118000000"
DAY = timedelta(days=1)


def loop(
    dispatch_min: int, arrive_min: int, satisfaction: Satisfaction, fail_once: bool = False
) -> list[tuple[int, Command]]:
    """Accept → dispatch → arrive → feedback → (fail, feedback again) → verify → archive, each
    at its minute after the case opened."""
    unit = "patrol-07"
    done = ReportFeedback(actor=unit, unit_id=unit, text="已处置", completed=True)
    steps: list[tuple[int, Command]] = [
        (1, Accept(actor="duty-li")),
        (dispatch_min, Dispatch(actor="duty-li", targets=(DispatchTarget(unit, name="巡逻7组"),))),
        (dispatch_min + 1, Acknowledge(actor=unit, unit_id=unit)),
        (arrive_min, Arrive(actor=unit, unit_id=unit)),
        (arrive_min + 1, done),
    ]
    if fail_once:
        steps += [
            (arrive_min + 2, Verify(actor="duty-wang", passed=False, reason="现场仍有纠纷")),
            # Re-tasked: the unit takes the task again and goes back before it reports.
            (arrive_min + 3, Acknowledge(actor=unit, unit_id=unit)),
            (arrive_min + 3, Arrive(actor=unit, unit_id=unit)),
            (arrive_min + 3, done),
        ]
    steps.append((arrive_min + 4, Verify(actor="duty-wang", passed=True)))
    steps.append((arrive_min + 5, EvaluateAndArchive(actor="duty-wang", satisfaction=satisfaction)))
    return steps


async def seeded(pool: asyncpg.Pool) -> tuple[list[int], list[datetime]]:
    """Two cases of different townships through the whole loop (the first failed its
    verification once); the other cases the sample opens are left at intake."""
    ids = await opened(pool, valid_lines()[:8])  # 3 h apart: all in one day
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, opened_at, township_code FROM cases WHERE id = ANY($1) ORDER BY id", ids
        )
    first = rows[0]
    second = next(r for r in rows if r["township_code"] != first["township_code"])
    service = CaseService(pool, None)
    plans = [
        loop(2, 10, Satisfaction.SATISFIED, fail_once=True),
        loop(4, 20, Satisfaction.BASICALLY_SATISFIED),
    ]
    for row, steps in zip((first, second), plans, strict=True):
        for minute, command in steps:
            await service.execute(
                row["id"], command, now=row["opened_at"] + timedelta(minutes=minute)
            )
    return [first["id"], second["id"]], [first["opened_at"], second["opened_at"]]


async def test_period_figures_come_from_the_event_log_and_the_evaluations(
    pool: asyncpg.Pool,
) -> None:
    """Dispatch 2 and 4 min → median 180 s; arrival 8 and 16 min → 720 s; 2 of 3 verifications
    passed; one 满意 of two evaluated; an empty period gives None, not 0."""
    _, opened_at = await seeded(pool)
    start = opened_at[0]
    async with pool.acquire() as conn:
        got = await kpi_queries.period_kpis(conn, COUNTY, start, start + DAY)
        before = await kpi_queries.period_kpis(conn, COUNTY, start - DAY, start)
        cases = await conn.fetchval("SELECT count(*) FROM cases")
        # The same median straight from SQL: the pure definition agrees with percentile_cont.
        sql_median = await conn.fetchval(
            "SELECT percentile_cont(0.5) WITHIN GROUP"
            " (ORDER BY extract(epoch FROM d.at - c.opened_at))"
            " FROM cases c JOIN case_events d ON d.case_id = c.id AND d.type = 'case.dispatched'"
        )
    assert got.opened == cases == sum(got.by_channel.values()) > 2
    assert (got.time_to_dispatch.median_s, got.time_to_dispatch.count) == (180.0, 2)
    assert got.time_to_dispatch.median_s == sql_median
    assert got.time_to_dispatch.p90_s == pytest.approx(120 + 0.9 * 120)
    assert (got.time_to_arrival.median_s, got.time_to_arrival.count) == (720.0, 2)
    assert got.verification_pass_rate == pytest.approx(2 / 3)
    assert got.satisfaction.rate == 1.0 and got.satisfaction.evaluated == 2  # 满意 + 基本满意
    assert got.satisfaction.by_level == {
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 0,
    }
    assert got.reopen_rate == 0.5 and sum(got.open_by_step.values()) == cases - 2
    # Archived cases hold no running deadline any more: on time is "never overdue" (both).
    assert got.on_time_rate == 1.0
    assert before.time_to_dispatch.median_s is None and before.verification_pass_rate is None
    assert before.satisfaction.rate is None and before.on_time_rate is None


async def test_a_township_reads_only_its_own_cases(pool: asyncpg.Pool) -> None:
    """A township's figures count its own cases only; another township's are not in them."""
    ids, opened_at = await seeded(pool)
    start = opened_at[0]
    async with pool.acquire() as conn:
        township = await conn.fetchval("SELECT township_code FROM cases WHERE id = $1", ids[0])
        mine = await conn.fetchval("SELECT count(*) FROM cases WHERE township_code = $1", township)
        got = await kpi_queries.period_kpis(conn, township, start, start + DAY)
        total = await conn.fetchval("SELECT count(*) FROM cases")
        elsewhere = await kpi_queries.period_kpis(conn, "320118999000", start, start + DAY)
    assert 0 < got.opened == mine < total
    assert got.time_to_dispatch.count == 1 and got.time_to_dispatch.median_s == 120.0
    assert got.verification_pass_rate == 0.5  # case 1 failed once, then passed
    assert elsewhere.opened == 0 and elsewhere.time_to_dispatch.count == 0


async def test_trends_bucket_the_same_facts_per_hour_and_per_day(pool: asyncpg.Pool) -> None:
    """Every opening is counted in its hour and its day; the dispatch waits (2 and 4 min) and
    the reopened share (1 of 2 closed) sit in the buckets of the dispatches and the closings."""
    _, opened_at = await seeded(pool)
    now = max(opened_at) + timedelta(hours=2)
    async with pool.acquire() as conn:
        in_day = await conn.fetchval(
            "SELECT count(*) FROM cases WHERE opened_at >= $1::timestamptz - interval '24 hours'"
            " AND opened_at < $1",
            now,
        )
        total = await conn.fetchval("SELECT count(*) FROM cases")
    spans = last_24_hours(now)
    async with pool.acquire() as conn:
        hourly = await kpi_queries.trend(conn, COUNTY, spans)
        days = last_30_days(kpi_queries.local_midnight(now) + DAY)
        daily = await kpi_queries.trend(conn, COUNTY, days)
    assert sum(hourly.opened) == in_day and sum(daily.opened) == total and len(daily.opened) == 30
    assert hourly.opened[spans.index(opened_at[1]) or 0] >= 1
    first, second = (
        spans.index(t + timedelta(minutes=m)) for t, m in zip(opened_at, (2, 4), strict=True)
    )
    assert first is not None and second is not None
    if first == second:
        assert hourly.dispatch_median_s[first] == 180.0
    else:
        assert (hourly.dispatch_median_s[first], hourly.dispatch_median_s[second]) == (120, 240)
    closed_1, closed_2 = (
        spans.index(opened_at[0] + timedelta(minutes=15)),
        spans.index(opened_at[1] + timedelta(minutes=25)),
    )
    assert closed_1 is not None and closed_2 is not None
    if closed_1 == closed_2:
        assert hourly.reopen_rate[closed_1] == 0.5
    else:
        assert (hourly.reopen_rate[closed_1], hourly.reopen_rate[closed_2]) == (1.0, 0.0)
    assert sum(1 for v in hourly.reopen_rate if v is not None) == (1 if closed_1 == closed_2 else 2)


async def test_the_guarded_read_refuses_a_role_and_a_scope_outside_and_audits_both(
    pool: asyncpg.Pool,
) -> None:
    """A township coordinator gets their township, not the county; an auditor gets nothing;
    each refusal leaves a row on the audit trail."""
    ids, opened_at = await seeded(pool)
    now = max(opened_at) + timedelta(hours=1)
    async with pool.acquire() as conn:
        township = await conn.fetchval("SELECT township_code FROM cases WHERE id = $1", ids[0])
        coordinator = Caller(Principal("tc-1", Role.TOWNSHIP_COORDINATOR, township))
        figures, day, month = await guarded.trends(conn, coordinator, township, opened_at[0], now)
        assert figures.scope == township and len(day.opened) == 24 and len(month.opened) == 30
        with pytest.raises(guarded.Refused, match="outside your jurisdiction"):
            await guarded.trends(conn, coordinator, COUNTY, opened_at[0], now)
        auditor = Caller(Principal("au-1", Role.AUDITOR, COUNTY))
        with pytest.raises(guarded.Refused, match="may not view the trends"):
            await guarded.trends(conn, auditor, COUNTY, opened_at[0], now)
        refusals = await conn.fetch(
            "SELECT user_id, detail FROM audit_log WHERE action = 'view_trends'"
            " AND outcome = 'refused' ORDER BY id"
        )
        picks = await guarded.trend_scopes(conn, coordinator)
    assert [r["user_id"] for r in refusals] == ["tc-1", "au-1"]
    assert [code for code, _ in picks] == [township]
