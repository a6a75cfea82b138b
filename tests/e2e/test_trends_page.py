"""The director's trends page on the real stack: figures and plotly charts of the caller's own
jurisdiction only, drawn with the locally served plotly.js; refused roles and scopes get 403."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.sync_api import Page

from incidents.case import DispatchTarget, Satisfaction
from incidents.commands import (
    Accept,
    Acknowledge,
    Arrive,
    Dispatch,
    EvaluateAndArchive,
    ReportFeedback,
    Verify,
)
from incidents.store.service import CaseService
from tests.browser import browser, fence, page_errors
from tests.e2e.sessions import sign_in
from tests.e2e.test_console_queue import YANGJIANG
from tests.e2e.test_screenshots import shoot
from tests.e2e.test_wall_screen import _in_store, case_no_of, put_report
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

COUNTY, TOWNSHIP, OTHER = "320118000000", "320118101000", "320118001000"


def _through_the_loop(stack: RunningStack, case_no: str) -> None:
    """Dispatch the case and close it, straight through the service (a case opens when the
    worker takes it in, so its steps are at most now: the waits here are seconds)."""

    async def run(conn: asyncpg.Connection) -> None:
        case_id, opened_at = await conn.fetchrow(
            "SELECT id, opened_at FROM cases WHERE case_no = $1", case_no
        )
        pool = await asyncpg.create_pool(stack.env["DATABASE_URL"], min_size=1, max_size=1)
        try:
            service = CaseService(pool, None)
            unit = "e2e-patrol"
            steps = [
                Accept(actor="duty-li"),
                Dispatch(actor="duty-li", targets=(DispatchTarget(unit, name="巡逻组"),)),
                Acknowledge(actor=unit, unit_id=unit),
                Arrive(actor=unit, unit_id=unit),
                ReportFeedback(actor=unit, unit_id=unit, text="已处置", completed=True),
                Verify(actor="duty-wang", passed=True),
                EvaluateAndArchive(actor="duty-wang", satisfaction=Satisfaction.SATISFIED),
            ]
            for minute, command in zip((1, 2, 3, 9, 10, 11, 12), steps, strict=True):
                at = min(opened_at + timedelta(minutes=minute), datetime.now(UTC))
                await service.execute(case_id, command, now=at)
        finally:
            await pool.close()

    _in_store(stack, run)


def tile(page: Page, key: str) -> str:
    """The value shown on one tile."""
    return page.inner_text(f'.trends-tile[data-kpi="{key}"] .value')


def test_each_user_sees_only_their_jurisdictions_trends_with_no_outside_request(
    wall_stack: RunningStack,
) -> None:
    """County: 3 cases, 8 charts drawn, a township picker; the township: its 1 case only, no
    picker, the county refused; an auditor refused; nothing asked of any other host."""
    stack = wall_stack
    ours = [put_report(stack, hours_ago=h) for h in (3.0, 1.5)]
    theirs = put_report(stack, hours_ago=0.5, where=YANGJIANG)
    _through_the_loop(stack, case_no_of(stack, ours[0]))
    for source_id in (ours[1], theirs):
        case_no_of(stack, source_id)
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page = context.new_page()
        errors = page_errors(page)
        outside = fence(page)
        sign_in(page, stack, role="county_director", jurisdiction=COUNTY)
        page.goto(stack.base_url + "/trends?period=24h")
        page.wait_for_function("document.querySelectorAll('.trend-chart .main-svg').length >= 8")
        assert "态势研判" in page.inner_text("header")
        assert tile(page, "opened") == "3"
        assert tile(page, "dispatch").endswith("· 1件")  # the one case dispatched
        assert tile(page, "satisfied") == "100.0%" and tile(page, "verified") == "100.0%"
        assert page.locator("#trends-scope option").count() >= 3  # the county and townships
        assert page.locator(".modebar-btn[data-title*='Plotly']").count() == 0
        shoot(page, "trends")

        page.goto(stack.base_url + f"/trends?period=24h&scope={TOWNSHIP}&lang=en")
        page.wait_for_selector(".trend-chart .main-svg")
        assert tile(page, "opened") == "1" and "Situation analysis" in page.inner_text("header")

        console = context.new_page()
        console_outside = fence(console)
        console.goto(stack.base_url + "/")
        console.wait_for_selector("a.nav-link[href^='/trends']", timeout=15_000)
        assert console_outside == []

        township = chromium.new_page()
        township_outside = fence(township)
        sign_in(township, stack, role="township_coordinator", jurisdiction=TOWNSHIP)
        township.goto(stack.base_url + "/trends?period=24h")
        assert tile(township, "opened") == "1"
        assert township.locator("select#trends-scope").count() == 0, "no picker: fixed"
        for scope in (COUNTY, OTHER):
            refused = township.goto(stack.base_url + f"/trends?scope={scope}")
            assert refused is not None and refused.status == 403
            assert "无权操作：不在您的辖区内" in township.inner_text("body")

        auditor = chromium.new_page()
        sign_in(auditor, stack, role="auditor")
        refused = auditor.goto(stack.base_url + "/trends")
        assert refused is not None and refused.status == 403
        assert "您的角色无权查看态势研判" in auditor.inner_text("body")

        assert outside == [] and township_outside == []
        assert errors == [], errors
