"""End to end: the panel's later actions (stand down, more forces, merge, split) and 周边."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

import asyncpg
import pytest
import redis
from playwright.sync_api import Page, expect

from geo.cameras import Camera
from geo.pack import load_demo_pack
from incidents.store.camera_store import StatusChange, load_demo_cameras, record_status_changes
from tests.browser import browser
from tests.e2e.test_case_panel import (
    WAIT_MS,
    confirm,
    console_page,
    load_fleet,
    move_button,
    new_case,
    open_panel,
    queue_row,
    report,
)
from tests.e2e.test_screenshots import shoot
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

T = TypeVar("T")
OLD_STREET = (118.8747, 31.3246)


def _run(coroutine: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coroutine

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        return pool.submit(asyncio.run, wrapped()).result(timeout=120)


async def _fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(stack: RunningStack, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of the stack's own database."""
    return _run(_fetch(stack.env["DATABASE_URL"], sql, *args))


def _camera_near(lon: float, lat: float) -> Camera:
    """The demo camera nearest a point (in 淳溪街道's old street)."""
    return min(load_demo_pack().cameras, key=lambda c: math.hypot(c.lon - lon, c.lat - lat))


def _in_sight(camera: Camera) -> tuple[float, float]:
    """A point half-way along the camera's line of sight."""
    reach = camera.range_m / 2
    heading = math.radians(camera.heading_deg)
    dlat = reach * math.cos(heading) / 111_320
    dlon = reach * math.sin(heading) / (111_320 * math.cos(math.radians(camera.lat)))
    return camera.lon + dlon, camera.lat + dlat


async def _cameras(database_url: str, camera: Camera) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await load_demo_cameras(conn, load_demo_pack())
        change = StatusChange(
            f"{uuid4().hex}-0", camera.code, datetime.now(UTC), "online", None, "e2e", "e2e"
        )
        await record_status_changes(conn, [change])
    finally:
        await conn.close()


def place_units(stack: RunningStack, page: Page, units: list[str], lon: float, lat: float) -> None:
    """Report each unit's position a few hundred metres east of the point."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    at = datetime.now(UTC).isoformat()
    for n, unit_id in enumerate(units):
        fix = {"unit_id": unit_id, "lon": lon + 0.003 * (n + 1), "lat": lat, "at": at}
        client.xadd(stack.stream_prefix + "positions", {"data": json.dumps(fix)})
    client.close()
    for unit_id in units:
        page.locator(f'path.unit-marker[data-unit-id="{unit_id}"]').wait_for(
            state="attached", timeout=WAIT_MS
        )


def test_around_lists_units_and_cameras_and_a_unit_is_stood_down_from_its_row(
    stack: RunningStack,
) -> None:
    """周边 names the camera that sees the place and the nearest unit; 撤回 releases a unit."""
    police = load_fleet(stack)[:2]
    camera = _camera_near(*OLD_STREET)
    lon, lat = _in_sight(camera)
    _run(_cameras(stack.env["DATABASE_URL"], camera))
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        place_units(stack, page, [u for u, _ in police], lon, lat)
        case_id = new_case(stack, page, f"老街商铺纠纷 {uuid4().hex[:6]}", lon=lon, lat=lat)
        open_panel(page, case_id)
        cameras = page.locator("#case-panel .around-cameras li.near-camera")
        expect(cameras.first).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#case-panel .around-cameras")).to_contain_text(camera.code)
        seen = page.locator("#case-panel .around-cameras li", has_text=camera.code)
        expect(seen.locator(".status")).to_have_text("在线")
        nearest_id, nearest = police[0]
        units = page.locator("#case-panel .around-units li.near-unit")
        expect(units.first.locator(".name")).to_have_text(nearest)
        expect(units.first.locator(".status")).to_have_text("可派遣")
        expect(units.first.locator(".distance")).to_contain_text("米")
        # Before any dispatch the step refuses more forces, in words.
        expect(move_button(page, "request_forces")).to_be_disabled()
        confirm(page, "accept")
        expect(page.locator("#case-panel-notice")).to_contain_text("已受理", timeout=WAIT_MS)
        page.locator("#case-panel ul.dispatch li.unit").first.locator("button.send").click()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已派遣", timeout=WAIT_MS)
        # Sent, the unit is busy in 周边 too; more forces may now be asked for.
        expect(units.first.locator(".status")).to_have_text("已派出")
        move_button(page, "request_forces").click()
        expect(page.locator("#case-panel-unit-row")).to_be_visible()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-needed-error")).to_have_text("请说明需要什么力量")
        page.fill("#case-panel-needed", "再派一辆巡逻车维持秩序")
        page.locator(f'#case-panel-unit input[value="{nearest_id}"]').check()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已请求增援", timeout=WAIT_MS)
        expect(page.locator("#case-panel .timeline")).to_contain_text(
            "请求增援：再派一辆巡逻车维持秩序"
        )
        page.locator("#case-panel .around").scroll_into_view_if_needed()
        shoot(page, "case-panel-around")
        row = page.locator("#case-panel .assignments li.assignment", has_text=nearest)
        row.locator("button.stand-down").click()
        expect(page.locator("#case-panel-dialog-title")).to_have_text(
            f"确认操作：撤回力量：{nearest}"
        )
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-reason-error")).to_have_text("请填写原因")
        page.fill("#case-panel-reason", "现场已平息，警力调整")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已撤回力量", timeout=WAIT_MS)
        expect(row).to_contain_text("已撤回")
        expect(row.locator("button.stand-down")).to_have_count(0)
        [assignment] = query(
            stack, "SELECT status FROM case_assignments WHERE case_id = $1", case_id
        )
        assert assignment["status"] == "stood_down"
        [state] = query(stack, "SELECT status FROM unit_states WHERE unit_id = $1", nearest_id)
        assert state["status"] != "dispatched", "the stood-down unit is free of the task"
        page.locator("#case-panel .assignments").scroll_into_view_if_needed()
        shoot(page, "case-panel-stood-down")
        assert outside == [] and errors == [], (outside, errors)


def test_a_merge_into_a_wrong_number_is_refused_next_to_the_field_then_merges(
    stack: RunningStack,
) -> None:
    """合并: an unknown number is said beside the field; the right one closes this case."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        # Far apart and of other kinds: the merge rule does not join them by itself.
        first = f"路灯不亮 {uuid4().hex[:6]}"
        target_id = new_case(stack, page, first, lon=118.95, lat=31.35)
        duplicate = f"同一路灯再报 {uuid4().hex[:6]}"
        case_id = new_case(stack, page, duplicate)
        open_panel(page, target_id)
        expect(page.locator("#case-panel .panel-summary")).to_have_text(first, timeout=WAIT_MS)
        target_no = page.locator("#case-panel .facts dd").first.inner_text()
        open_panel(page, case_id)
        expect(page.locator("#case-panel .panel-summary")).to_have_text(duplicate, timeout=WAIT_MS)
        move_button(page, "merge_into").click()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-target-error")).to_have_text("请填写要合并到的事件编号")
        page.fill("#case-panel-target", "320118-20990101-9999")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-target-error")).to_have_text(
            "没有您可处置的此编号事件", timeout=WAIT_MS
        )
        expect(page.locator("#case-panel-dialog")).to_be_visible()
        own_no = page.locator("#case-panel .facts dd").first.inner_text()
        page.fill("#case-panel-target", own_no)
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-target-error")).to_have_text(
            "目标事件不能接收合并：事件不能合并到自身", timeout=WAIT_MS
        )
        page.fill("#case-panel-target", target_no)
        page.fill("#case-panel-reason", "同一盏路灯")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text(
            f"已将 {own_no} 合并到 {target_no}", timeout=WAIT_MS
        )
        expect(page.locator("#case-panel .timeline")).to_contain_text(f"合并到 {target_no}")
        [row] = query(stack, "SELECT status FROM cases WHERE id = $1", case_id)
        assert row["status"] == "merged"
        assert outside == [] and errors == [], (outside, errors)


def test_a_wrongly_linked_report_is_split_off_into_its_own_case(stack: RunningStack) -> None:
    """拆分: the second report, auto-linked, leaves with a reason and opens its own case."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        summary = f"老街打架 {uuid4().hex[:6]}"
        case_id = new_case(stack, page, summary)
        open_panel(page, case_id)
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        second = f"另一处盗窃 {uuid4().hex[:6]}"
        client.xadd(stack.stream_prefix + "intake", {"data": report(second)})
        client.close()
        linked_sql = "SELECT 1 FROM case_reports WHERE case_id = $1 AND link_kind = 'auto'"
        for _ in range(40):  # the link arrives through the worker
            if query(stack, linked_sql, case_id):
                break
            page.wait_for_timeout(250)
        page.click("#case-panel-refresh")
        reports = page.locator("#case-panel .reports li.report")
        # The list holds the reports linked after the one that opened the case.
        expect(reports).to_have_count(1)
        linked = reports.filter(has_text=second)
        expect(linked.locator("button.unlink")).to_be_enabled()
        linked.locator("button.unlink").click()
        page.fill("#case-panel-reason", "不是同一事件")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text(
            "已拆分报告：另立新事件", timeout=WAIT_MS
        )
        expect(reports).to_have_count(0)
        expect(page.locator("#case-panel .reports")).to_have_text("无")
        expect(page.locator("#case-panel .timeline")).to_contain_text("拆分报告")
        rows = query(
            stack, "SELECT case_id FROM case_reports WHERE summary = $1 AND case_id <> $2", second,
            case_id,
        )  # fmt: skip
        assert len(rows) == 1, "the split report belongs to a case of its own"
        queue_row(page, second).wait_for(timeout=WAIT_MS)
        assert outside == [] and errors == [], (outside, errors)
