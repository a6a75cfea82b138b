"""The read side on real PostgreSQL: the queue's filters and order, one case's whole panel."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg
import msgspec
import pytest

from incidents.case import DispatchTarget
from incidents.commands import Accept, Acknowledge, Dispatch
from incidents.store.queries import (
    QueueFilter,
    QueueOrder,
    case_detail,
    case_queue,
    open_cases,
    reporter_of,
)
from incidents.store.service import CaseService
from tests.integration.forming import form_reports
from tests.integration.test_case_service import accepted
from tests.integration.test_ingest import FIXED_NOW, valid_lines

pytestmark = pytest.mark.integration

COUNTY = "320118"


async def opened(pool: asyncpg.Pool, lines: list[str]) -> list[int]:
    """Open one case per line (spread out in time so none merge); their ids in order."""
    reports = [
        accepted(line, source_id=f"q-{n}", at=FIXED_NOW + timedelta(hours=3 * n))
        for n, line in enumerate(lines)
    ]
    async with pool.acquire() as conn:
        events = await form_reports(conn, reports)
    return [json.loads(e.payload)["case_id"] for e in events if b'"case.opened"' in e.payload]


async def test_the_queue_filters_sorts_pages_and_counts(pool: asyncpg.Pool) -> None:
    """Each filter narrows the queue; the count is of all matches, not of the page."""
    lines = valid_lines()
    ids = await opened(pool, lines)
    service = CaseService(pool, None)
    await service.execute(ids[0], Accept(actor="duty-li"), now=FIXED_NOW)
    async with pool.acquire() as conn:
        everything = await case_queue(conn, QueueFilter(within=COUNTY, limit=500))
        assert everything.total == len(ids) == len(everything.cases)
        newest_first = [c.opened_at for c in everything.cases]
        assert newest_first == sorted(newest_first, reverse=True)

        page = await case_queue(conn, QueueFilter(within=COUNTY, limit=2, offset=1))
        assert (page.total, [c.id for c in page.cases]) == (
            len(ids),
            [c.id for c in everything.cases[1:3]],
        )

        mine = await case_queue(conn, QueueFilter(within=COUNTY, owner="duty-li"))
        assert [c.id for c in mine.cases] == [ids[0]] and mine.cases[0].step == "report"
        at_intake = await case_queue(conn, QueueFilter(within=COUNTY, steps=frozenset({"intake"})))
        assert at_intake.total == len(ids) - 1

        category = everything.cases[0].category
        same = await case_queue(conn, QueueFilter(within=COUNTY, categories=frozenset({category})))
        assert same.total == sum(c.category == category for c in everything.cases)
        assert same.cases and all(c.category == category for c in same.cases)

        severe = await case_queue(conn, QueueFilter(within=COUNTY, severities=frozenset({1, 2})))
        assert all(c.severity <= 2 for c in severe.cases)
        assert severe.total == sum(c.severity <= 2 for c in everything.cases)

        channel = everything.cases[-1].channel
        by_channel = await case_queue(
            conn, QueueFilter(within=COUNTY, channels=frozenset({channel}))
        )
        assert by_channel.total == sum(c.channel == channel for c in everything.cases)

        town = everything.cases[0].township_code
        assert town is not None
        in_town = await case_queue(conn, QueueFilter(within=town[:9]))
        assert in_town.total == sum(c.township_code == town for c in everything.cases)
        assert in_town.total < everything.total

        by_deadline = await case_queue(
            conn, QueueFilter(within=COUNTY, order=QueueOrder("deadline_at", descending=False))
        )
        deadlines = [c.deadline_at for c in by_deadline.cases if c.deadline_at is not None]
        assert deadlines == sorted(deadlines)
        by_severity = await case_queue(
            conn, QueueFilter(within=COUNTY, order=QueueOrder("severity", descending=False))
        )
        assert [c.severity for c in by_severity.cases] == sorted(
            c.severity for c in by_severity.cases
        )

        late = max(c.deadline_at for c in everything.cases if c.deadline_at is not None)
        overdue = await case_queue(
            conn, QueueFilter(within=COUNTY, overdue_at=late + timedelta(seconds=1))
        )
        assert overdue.total == everything.total  # by then every deadline has passed
        none_yet = await case_queue(conn, QueueFilter(within=COUNTY, overdue_at=FIXED_NOW))
        assert none_yet.total == 0

        with pytest.raises(ValueError, match="cannot sort"):
            await case_queue(conn, QueueFilter(within=COUNTY, order=QueueOrder("summary")))
        assert [c.id for c in await open_cases(conn, COUNTY, 3)] == [
            c.id for c in everything.cases[:3]
        ]


async def test_a_case_panel_has_its_timeline_reports_and_assignments_without_reporters(
    pool: asyncpg.Pool,
) -> None:
    """Timeline (who, when, what), linked reports and assignments; reporters only on request."""
    line = valid_lines()[0]
    reports = [
        accepted(line, source_id="first", at=FIXED_NOW),
        accepted(line, source_id="again", at=FIXED_NOW + timedelta(minutes=2)),
    ]
    async with pool.acquire() as conn:
        events = await form_reports(conn, reports)
    case_id = json.loads(events[0].payload)["case_id"]
    service = CaseService(pool, None)
    steps = [
        Accept(actor="duty-li"),
        Dispatch(actor="duty-li", targets=(DispatchTarget("patrol-07", name="城区巡逻7组"),)),
        Acknowledge(actor="unit:patrol-07", unit_id="patrol-07"),
    ]
    for minute, command in enumerate(steps, start=3):
        await service.execute(case_id, command, now=FIXED_NOW + timedelta(minutes=minute))
    async with pool.acquire() as conn:
        detail = await case_detail(conn, case_id, COUNTY)
        assert detail is not None
        assert detail.case.id == case_id and detail.case.report_count == 2
        assert [e.type for e in detail.timeline] == [
            "case.opened",
            "case.report_linked",
            "case.accepted",
            "case.dispatched",
            "case.unit_acknowledged",
        ]
        assert [e.actor for e in detail.timeline][2:] == ["duty-li", "duty-li", "unit:patrol-07"]
        assert [e.seq for e in detail.timeline] == [1, 2, 3, 4, 5]
        assert [r.source_id for r in detail.reports] == ["again"]
        (assignment,) = detail.assignments
        assert (assignment.unit_id, assignment.name, assignment.status) == (
            "patrol-07",
            "城区巡逻7组",
            "acknowledged",
        )
        assert assignment.acknowledged_at == FIXED_NOW + timedelta(minutes=5)
        text = msgspec.json.encode(detail).decode()
        reporter = json.loads(line).get("reporter")
        assert reporter and reporter["phone"] not in text and reporter["name"] not in text

        elsewhere = "320118101" if detail.case.township_code != "320118101000" else "320118001"
        assert await case_detail(conn, case_id, elsewhere) is None
        assert await reporter_of(conn, case_id, elsewhere) is None
        revealed = await reporter_of(conn, case_id, COUNTY)
        assert revealed is not None and revealed.phone == reporter["phone"]
        assert await case_detail(conn, 999_999, COUNTY) is None
