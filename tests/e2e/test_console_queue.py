"""The duty console's queue and map, as people use them: a live AG Grid, marks, the opened case."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import asyncpg
import pytest
import redis
from playwright.sync_api import Locator, Page

from tests.browser import browser, fence, page_errors
from tests.e2e.sessions import sign_in
from tests.e2e.test_screenshots import shoot
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

LIVE_BOUND_MS = 5_000
CHUNXI = (118.8747, 31.3246)  # 淳溪街道
YANGJIANG = (118.78985, 31.33721)  # 阳江镇 (320118101000)

# The value a Dash component prop holds now, read from the renderer's own store.
_PROP = """([id, prop]) => {
  const state = window.dash_stores[0].getState();
  let node = state.layout;
  for (const key of state.paths.strs[id]) { node = node[key]; }
  return node.props[prop] === undefined ? null : node.props[prop];
}"""


def report(summary: str, where: tuple[float, float] = CHUNXI, category: str = "traffic") -> str:
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"e2e-{uuid.uuid4().hex}",
            "channel": "110",
            "category": category,
            "summary": summary,
            "location": {"lon": where[0], "lat": where[1]},
            "reported_at": datetime.now(UTC).isoformat(),
            "severity": 3,
            "reporter": {"name": "王先生", "phone": "13951234567"},
        },
        ensure_ascii=False,
    )


@contextmanager
def console(
    stack: RunningStack, size: tuple[int, int] = (1920, 1080), **who: str
) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A signed-in console page that is live: the page, outside requests, console errors."""
    with browser() as chromium:
        context = chromium.new_context(
            viewport={"width": size[0], "height": size[1]}, locale="zh-CN"
        )
        page = context.new_page()
        errors = page_errors(page)
        outside = fence(page)
        sign_in(page, stack, **who)
        page.goto(stack.base_url + "/")
        page.wait_for_selector("#link-status.live", timeout=15_000)
        page.wait_for_function("() => window.pinganQueue && window.pinganQueue.state.api")
        yield page, outside, errors


def row(page: Page, text: str) -> Locator:
    return page.locator("#case-queue .ag-center-cols-container .ag-row", has_text=text)


def case_no_of(page: Page, text: str) -> str:
    """The case number of the queue row that shows this text."""
    return row(page, text).get_attribute("row-id") or ""


def mark_of(row_: Locator, kind: str) -> str:
    """The words a row's summary cell shows before its text (its ::before)."""
    content = row_.locator(f".summary-cell.mark-{kind}").evaluate(
        "(cell) => getComputedStyle(cell, '::before').content"
    )
    return str(json.loads(content)) if content not in ("none", "normal") else ""


def test_new_and_linked_reports_mark_their_rows_and_a_click_opens_the_case(
    stack: RunningStack,
) -> None:
    """XADD → a marked grid row, no reload; a second report marks "+1 报告"; a click opens it."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    intake = stack.stream_prefix + "intake"
    with console(stack) as (page, outside, errors):
        assert page.locator("#case-queue .ag-root").count() == 1, "the queue is an AG Grid"
        assert page.locator("#map-legend .swatch.sev-4").count() == 1, "severity legend shown"
        page.evaluate("window.__sameDocument = true")

        summary = f'路口两车相撞 <img src=x onerror="window.__xss=1"> {uuid.uuid4().hex[:6]}'
        client.xadd(intake, {"data": report(summary)})
        new = row(page, summary)
        new.wait_for(timeout=LIVE_BOUND_MS)
        assert mark_of(new, "new") == "新"
        assert new.locator("img").count() == 0
        case_id = int(new.get_attribute("row-id") or 0)
        assert case_id > 0

        later = f"另一处路灯不亮 {uuid.uuid4().hex[:6]}"
        client.xadd(intake, {"data": report(later, (119.1, 31.3), "public_service")})
        row(page, later).wait_for(timeout=LIVE_BOUND_MS)
        assert row(page, later).get_attribute("row-index") == "0", "newest first"

        client.xadd(intake, {"data": report("同一路口又一次报警，车辆起火")})
        row(page, summary).locator(".mark-linked").wait_for(timeout=LIVE_BOUND_MS)
        assert row(page, summary).get_attribute("row-index") == "0", "a linked report bumps it"
        assert mark_of(row(page, summary), "linked") == "+1 报告"
        assert "2" in row(page, summary).locator('[col-id="report_count"]').inner_text()

        row(page, summary).locator('[col-id="summary"]').click()
        page.wait_for_function(f"() => ({_PROP})(['selected-case', 'data']) !== null")
        selected = page.evaluate(_PROP, ["selected-case", "data"])
        assert selected["case_id"] == case_id and selected["n"] == 1

        assert page.evaluate("window.__sameDocument === true"), "the page must not reload"
        assert page.evaluate("window.__xss === undefined"), "summary must render as text"
        assert "13951234567" not in page.content(), "no personal data on the shared screen"
        assert outside == [], outside
        assert errors == [], errors


def _overdue(database_url: str, case_id: int) -> None:
    """Put a case's deadline an hour in the past, as if nobody had handled it in time."""

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE cases SET deadline_at = now() - interval '1 hour' WHERE id = $1", case_id
            )
        finally:
            await conn.close()

    asyncio.run(run())


def test_an_overdue_case_is_marked_and_the_overdue_toggle_keeps_only_it(
    stack: RunningStack,
) -> None:
    """A case past its deadline shows a red countdown and a marked row, not only a place."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    intake = stack.stream_prefix + "intake"
    late, fresh = f"超期未办 {uuid.uuid4().hex[:6]}", f"按时办理 {uuid.uuid4().hex[:6]}"
    with console(stack) as (page, outside, errors):
        client.xadd(intake, {"data": report(late, (118.95, 31.35), "dispute")})
        client.xadd(intake, {"data": report(fresh, (119.0, 31.30), "fire")})
        row(page, late).wait_for(timeout=LIVE_BOUND_MS)
        row(page, fresh).wait_for(timeout=LIVE_BOUND_MS)
        late_id = int(row(page, late).get_attribute("row-id") or 0)
        assert "overdue" not in (row(page, late).get_attribute("class") or "")

    _overdue(stack.env["DATABASE_URL"], late_id)
    with console(stack) as (page, outside, errors):
        marked = row(page, late)
        page.wait_for_function(
            "(t) => [...document.querySelectorAll('#case-queue .ag-row.row-overdue')]"
            ".some(r => r.textContent.includes(t))",
            arg=late,
        )
        assert "超期" in marked.locator('[col-id="deadline_at"]').inner_text()
        assert "overdue" in (marked.locator('[col-id="deadline_at"]').get_attribute("class") or "")
        assert "row-overdue" not in (row(page, fresh).get_attribute("class") or "")

        page.click("#queue-overdue-only")
        row(page, fresh).wait_for(state="detached", timeout=LIVE_BOUND_MS)
        assert row(page, late).count() == 1
        assert outside == [], outside
        assert errors == [], errors


def test_a_township_user_sees_only_their_township_and_the_map_fits_it(
    stack: RunningStack,
) -> None:
    """阳江镇's coordinator: 阳江 cases only; the map opens on 阳江's polygon, not the county."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    intake = stack.stream_prefix + "intake"
    ours, theirs = f"阳江镇路口事故 {uuid.uuid4().hex[:6]}", f"淳溪街道事故 {uuid.uuid4().hex[:6]}"
    with console(stack, role="township_coordinator", jurisdiction="320118101000") as (
        page,
        outside,
        errors,
    ):
        west, south, east, north = page.evaluate(
            "() => { const b = window.pinganLive.map.getBounds();"
            " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
        )
        # 阳江镇 spans 118.696–118.864 E, 31.266–31.414 N; the county reaches 119.21 E.
        assert west < 118.70 and east > 118.86 and south < 31.27 and north > 31.41
        assert east < 118.98, "the map fits the township, not the whole county"

        client.xadd(intake, {"data": report(theirs, CHUNXI)})
        client.xadd(intake, {"data": report(ours, YANGJIANG)})
        row(page, ours).wait_for(timeout=LIVE_BOUND_MS)
        # Both went on the stream; ours arrived after theirs, so theirs had its chance.
        assert row(page, theirs).count() == 0
        assert page.evaluate("window.pinganQueue.count()") == 1
        assert outside == [], outside
        assert errors == [], errors


def test_the_console_as_a_duty_officer_sees_it_at_1080p_and_4k(stack: RunningStack) -> None:
    """Screenshots of the live console with cases, zh-CN, at 1920×1080 and 3840×2160."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    intake = stack.stream_prefix + "intake"
    for i in range(12):
        where = (118.72 + 0.04 * i, 31.27 + 0.015 * (i % 8))
        category = ("traffic", "dispute", "fire", "public_service")[i % 4]
        client.xadd(intake, {"data": report(f"演示事件 {i} 路口情况需要处置", where, category)})
    for size, name in (((1920, 1080), "console-1080p"), ((3840, 2160), "console-4k")):
        with console(stack, size) as (page, outside, errors):
            page.wait_for_function("() => window.pinganQueue.count() >= 12")
            page.wait_for_timeout(300)  # let the grid paint its rows before the picture
            shoot(page, name)
            assert outside == [], outside
            assert errors == [], errors


def test_close_cases_cluster_units_take_their_status_colour_and_layers_switch_off(
    stack: RunningStack,
) -> None:
    """Three cases 100 m apart are one counted cluster at county zoom; a unit's status event
    recolours its marker; the units switch hides the layer."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    prefix = stack.stream_prefix
    with console(stack) as (page, outside, errors):
        tags = [f"邻里纠纷 {n} {uuid.uuid4().hex[:6]}" for n in range(3)]
        for n, tag in enumerate(tags):
            where = (118.95 + 0.001 * n, 31.36)  # ~100 m apart: the dispute rule merges at 50 m
            client.xadd(prefix + "intake", {"data": report(tag, where, "dispute")})
        for tag in tags:
            row(page, tag).wait_for(timeout=LIVE_BOUND_MS)
        numbers = [row(page, t).locator('[col-id="case_no"].case-no').inner_text() for t in tags]
        assert [page.evaluate("(n) => window.pinganLive.drawnAs(n)", n) for n in numbers] == [
            "cluster"
        ] * 3
        assert page.locator(".case-cluster", has_text="3").count() == 1

        fix = {"unit_id": "patrol-e2e-2", "lon": 118.9, "lat": 31.33}
        client.xadd(prefix + "positions", {"data": json.dumps({**fix, "at": _now()})})
        unit = page.locator('path.unit-marker[data-unit-id="patrol-e2e-2"]')
        unit.wait_for(state="attached", timeout=LIVE_BOUND_MS)
        for status in ("available", "off_duty"):
            event = {
                "schema": "event/1",
                "type": "unit.status_changed",
                "at": _now(),
                "actor": "e2e",
                "unit_id": "patrol-e2e-2",
                "township_code": "320118001000",
                "before": "busy",
                "after": status,
            }
            client.xadd(prefix + "events", {"data": json.dumps(event)})
            page.wait_for_selector(
                f'path.unit-marker.status-{status}[data-unit-id="patrol-e2e-2"]',
                state="attached",
                timeout=LIVE_BOUND_MS,
            )
        page.click('#layer-toggles button[data-layer="units"]')
        unit.wait_for(state="detached", timeout=LIVE_BOUND_MS)
        assert outside == [], outside
        assert errors == [], errors


def _now() -> str:
    return datetime.now(UTC).isoformat()
