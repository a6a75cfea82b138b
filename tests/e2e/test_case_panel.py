"""End to end: people open a case in its panel and move it along, each as their role allows."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import redis
from playwright.sync_api import Page, expect

from geo.pack import load_demo_pack
from geo.recommend import Capability
from incidents.store.demo_fleet import load_demo_units
from incidents.store.unit_store import unit_records
from tests.browser import browser, fence, page_errors
from tests.e2e.sessions import sign_in
from tests.e2e.test_screenshots import shoot
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

WAIT_MS = 15_000


def report(summary: str, lon: float = 118.8747, lat: float = 31.3246, **extra: Any) -> str:
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"e2e-{uuid.uuid4().hex}",
            "channel": "110",
            "category": "public_security",
            "summary": summary,
            "location": {"lon": lon, "lat": lat, "address": "淳溪街道 高淳老街"},
            "reported_at": "2026-11-26T21:14:05+08:00",
            "severity": 2,
            "reporter": {"name": "王先生", "phone": "13951234567"},
            **extra,
        },
        ensure_ascii=False,
    )


def queue_row(page: Page, text: str) -> Any:
    """The queue's row of a case (the AG Grid's centre part, which holds the summary)."""
    return page.locator("#case-queue .ag-center-cols-container .ag-row", has_text=text)


def _console(page: Page) -> list[str]:
    return page_errors(page)


def new_case(stack: RunningStack, page: Page, summary: str, **where: float) -> int:
    """Put a report on the intake stream; the case id once its row appears on the page."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    client.xadd(stack.stream_prefix + "intake", {"data": report(summary, **where)})
    client.close()
    row = queue_row(page, summary)
    row.wait_for(timeout=WAIT_MS)
    return int(row.get_attribute("row-id") or "0")


def open_panel(page: Page, case_id: int) -> None:
    """Open the case as a click on its row or marker does."""
    page.evaluate("id => window.pinganQueue.select(id)", case_id)
    page.locator("#case-panel").wait_for(state="visible", timeout=WAIT_MS)


def console_page(
    chromium: Any, stack: RunningStack, **who: str
) -> tuple[Page, list[str], list[str]]:
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    errors = _console(page)
    outside = fence(page)
    sign_in(page, stack, **who)
    page.goto(stack.base_url + "/")
    page.wait_for_selector("#link-status.live", timeout=WAIT_MS)
    return page, errors, outside


def move_button(page: Page, move: str) -> Any:
    return page.locator(f'button.move[id*=\'"move":"{move}"\']')


def why_not(page: Page, move: str) -> Any:
    return page.locator(".actions li", has=move_button(page, move)).locator(".why-not")


def test_duty_officer_opens_and_accepts_a_case(stack: RunningStack) -> None:
    """The panel shows the case, reporter masked; accept asks first, then the timeline says so."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        summary = f'老街东段打架 <img src=x onerror="window.__xss=1"> {uuid.uuid4().hex[:6]}'
        case_id = new_case(stack, page, summary)
        open_panel(page, case_id)
        panel = page.locator("#case-panel")
        expect(panel.locator(".panel-summary")).to_have_text(summary, timeout=WAIT_MS)
        expect(panel.locator(".reporter")).to_have_text("王** 139****4567")
        assert "13951234567" not in page.content()
        assert page.evaluate("window.__xss === undefined"), "the summary must render as text"
        # At intake, dispatch-step moves are disabled with the step named as the reason.
        expect(move_button(page, "verify_pass")).to_be_disabled()
        expect(why_not(page, "verify_pass")).to_have_text("当前环节（统一受理）不允许此操作")
        expect(why_not(page, "escalate")).to_have_text("县级已是最高层级")
        # Rejecting needs a reason: the error shows next to the field, nothing changes.
        move_button(page, "reject").click()
        page.locator("#case-panel-dialog").wait_for(state="visible")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-reason-error")).to_have_text("请填写原因")
        page.click("#case-panel-dismiss")
        page.locator("#case-panel-dialog").wait_for(state="hidden")
        move_button(page, "accept").click()
        expect(page.locator("#case-panel-dialog-title")).to_have_text("确认操作：受理")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已受理", timeout=WAIT_MS)
        expect(panel.locator(".timeline")).to_contain_text("受理，成为首问责任人")
        expect(move_button(page, "accept")).to_be_disabled()
        shoot(page, "case-panel-accepted")
        assert outside == [], f"requests left the machine: {outside}"
        assert errors == [], errors


def confirm(page: Page, move: str, reason: str = "", tier: str | None = None) -> None:
    """Press a move's button, fill its dialog and confirm it."""
    move_button(page, move).click()
    page.locator("#case-panel-dialog").wait_for(state="visible")
    if tier is not None:
        page.locator(f'#case-panel-tier input[value="{tier}"]').check()
    if reason:
        page.fill("#case-panel-reason", reason)
    page.click("#case-panel-confirm")


def test_duty_officer_reveals_the_reporter_with_a_reason(stack: RunningStack) -> None:
    """显示 asks why; without a reason it says so next to the field, with one it shows all."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        case_id = new_case(stack, page, f"噪音扰民 {uuid.uuid4().hex[:6]}")
        open_panel(page, case_id)
        page.locator("button.move.reveal").click()
        expect(page.locator("#case-panel-dialog-title")).to_have_text("显示报告人完整信息")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-reason-error")).to_have_text("请填写原因")
        page.fill("#case-panel-reason", "回访报告人核实情况")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel .reporter")).to_have_text("王先生 13951234567")
        expect(page.locator("#case-panel-notice")).to_contain_text("已记入审计")
        assert outside == [] and errors == [], (outside, errors)


def test_analyst_sees_the_reporter_masked_and_may_not_act(stack: RunningStack) -> None:
    """An analyst's panel: masked reporter, no reveal button, every action disabled, in words."""
    with browser() as chromium:
        officer, _, _ = console_page(chromium, stack)
        summary = f"电动车被盗 {uuid.uuid4().hex[:6]}"
        case_id = new_case(stack, officer, summary)
        page, errors, outside = console_page(chromium, stack, role="county_analyst")
        queue_row(page, summary).wait_for(timeout=WAIT_MS)
        open_panel(page, case_id)
        panel = page.locator("#case-panel")
        expect(panel.locator(".reporter")).to_have_text("王** 139****4567")
        assert panel.locator("button.move.reveal").count() == 0
        expect(move_button(page, "accept")).to_be_disabled()
        expect(panel.locator(".actions .why-not").first).to_have_text("您的角色无权处置事件")
        assert "13951234567" not in page.content()
        shoot(page, "case-panel-analyst")
        assert outside == [] and errors == [], (outside, errors)


def test_township_coordinators_see_their_own_cases_only(stack: RunningStack) -> None:
    """Handed down to 淳溪街道, its coordinator escalates it back; 阳江镇's is refused in words."""
    with browser() as chromium:
        officer, _, _ = console_page(chromium, stack)
        case_id = new_case(stack, officer, f"邻里纠纷 {uuid.uuid4().hex[:6]}")
        open_panel(officer, case_id)
        confirm(officer, "accept")
        expect(officer.locator("#case-panel-notice")).to_contain_text("已受理", timeout=WAIT_MS)
        confirm(officer, "hand_down", "属地化解", tier="township")
        expect(officer.locator("#case-panel-notice")).to_contain_text("已交办下级", timeout=WAIT_MS)

        own, errors, outside = console_page(
            chromium, stack, role="township_coordinator", jurisdiction="320118001000"
        )
        open_panel(own, case_id)
        expect(own.locator("#case-panel .timeline")).to_contain_text("交办至乡镇（街道）")
        expect(move_button(own, "escalate")).to_be_enabled()
        confirm(own, "escalate", "涉及多部门，需县级协调")
        expect(own.locator("#case-panel-notice")).to_contain_text("已上报上级", timeout=WAIT_MS)
        # Back with the county, the township may only view it: the buttons say so.
        expect(move_button(own, "escalate")).to_be_disabled()
        expect(own.locator("#case-panel .actions")).to_contain_text(
            "该事件由county办理".replace("county", "县（区）")
        )
        shoot(own, "case-panel-township")
        assert outside == [] and errors == [], (outside, errors)

        other, errors, outside = console_page(
            chromium, stack, role="township_coordinator", jurisdiction="320118101000"
        )
        open_panel(other, case_id)
        expect(other.locator("#case-panel .refused")).to_have_text("无权操作：不在您的辖区内")
        assert other.locator("#case-panel .panel-summary").count() == 0
        assert outside == [] and errors == [], (outside, errors)


def test_a_stale_edit_names_who_changed_the_case(stack: RunningStack) -> None:
    """Two officers open the same case; the second to act is told who changed it, and when."""
    with browser() as chromium:
        first, _, _ = console_page(chromium, stack)
        case_id = new_case(stack, first, f"井盖缺失 {uuid.uuid4().hex[:6]}")
        open_panel(first, case_id)
        second, errors, outside = console_page(chromium, stack)
        open_panel(second, case_id)
        # The second officer is already confirming a rejection when the first accepts: their
        # panel does not reload under the open dialog, so they act on the case as it was.
        move_button(second, "reject").click()
        second.locator("#case-panel-dialog").wait_for(state="visible")
        confirm(first, "accept")
        expect(first.locator("#case-panel-notice")).to_contain_text("已受理", timeout=WAIT_MS)
        who = first.locator("#case-panel .facts dd").nth(8).inner_text()
        expect(second.locator("#case-panel-live-notice")).to_contain_text(who, timeout=WAIT_MS)
        second.fill("#case-panel-reason", "误报")
        second.click("#case-panel-confirm")
        notice = second.locator("#case-panel-notice")
        expect(notice).to_contain_text(f"此事件已被 {who} 于 ", timeout=WAIT_MS)
        expect(notice).to_contain_text("修改，请刷新")
        # 刷新 shows the case as it now stands, and the moves it now allows.
        second.click("#case-panel-refresh")
        expect(second.locator("#case-panel .timeline")).to_contain_text(f"{who}")
        expect(move_button(second, "accept")).to_be_disabled()
        expect(second.locator("#case-panel-notice")).to_have_text("")
        assert outside == [] and errors == [], (outside, errors)


async def _fleet(database_url: str) -> list[tuple[str, str]]:
    """Load the demo fleet into the stack's store; 淳溪街道's police units (id, name)."""
    conn = await asyncpg.connect(database_url)
    try:
        await load_demo_units(conn, load_demo_pack(), at=datetime.now(UTC))
        records = await unit_records(conn, "320118001")
        return [
            (r.unit.unit_id, r.unit.name)
            for r in records
            if Capability.POLICE in r.unit.capabilities
        ]
    finally:
        await conn.close()


def load_fleet(stack: RunningStack) -> list[tuple[str, str]]:
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        return pool.submit(asyncio.run, _fleet(stack.env["DATABASE_URL"])).result(timeout=120)


def test_duty_officer_dispatches_the_recommended_unit(stack: RunningStack) -> None:
    """Accepted, the case lists the nearest police units; one confirmed click sends the first."""
    police = load_fleet(stack)[:3]
    assert police, "the demo fleet has police in 淳溪街道"
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        at = datetime.now(UTC).isoformat()
        for n, (unit_id, _) in enumerate(police):
            fix = {"unit_id": unit_id, "lon": 118.8747 + 0.004 * (n + 1), "lat": 31.3246, "at": at}
            client.xadd(stack.stream_prefix + "positions", {"data": json.dumps(fix)})
        for unit_id, _ in police:
            page.locator(f'path.unit-marker[data-unit-id="{unit_id}"]').wait_for(
                state="attached", timeout=WAIT_MS
            )
        client.close()
        nearest_id, nearest = police[0]
        marker = page.locator(f'path.unit-marker[data-unit-id="{nearest_id}"]')
        # Its status and name come with the roster at load, before any status change.
        expect(marker).to_have_class(re.compile(r"\bstatus-available\b"), timeout=WAIT_MS)
        page.wait_for_function("() => window.pinganLive.rosterLoaded === true", timeout=WAIT_MS)
        tip = page.evaluate("(id) => window.pinganLive.units.get(id).tip.textContent", nearest_id)
        assert tip.startswith(nearest) and "可派" in tip, tip
        case_id = new_case(stack, page, f"商铺门口聚众斗殴 {uuid.uuid4().hex[:6]}")
        open_panel(page, case_id)
        assert page.locator("#case-panel ul.dispatch").count() == 0, "no dispatch at intake"
        confirm(page, "accept")
        expect(page.locator("#case-panel-notice")).to_contain_text("已受理", timeout=WAIT_MS)
        units = page.locator("#case-panel ul.dispatch li.unit")
        expect(units.first).to_be_visible(timeout=WAIT_MS)
        expect(units.first.locator(".name")).to_have_text(nearest)
        expect(units.first).to_contain_text("可派遣")
        expect(units.first.locator(".line")).to_contain_text("公里")
        shoot(page, "case-panel-dispatch")
        units.first.locator("button.send").click()
        expect(page.locator("#case-panel-dialog-title")).to_have_text(f"确认派遣：{nearest}")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text(
            f"已派遣 {nearest}", timeout=WAIT_MS
        )
        expect(page.locator("#case-panel .assignments")).to_contain_text(f"{nearest}（已派遣）")
        expect(page.locator("#case-panel .timeline")).to_contain_text(f"派遣 {nearest}")
        sent = page.locator("#case-panel ul.dispatch li.unit", has_text=nearest)
        expect(sent.locator("button.send")).to_be_disabled()
        expect(sent).to_contain_text("已派出")
        assert nearest_id not in page.locator("#case-panel .facts").inner_text()
        shoot(page, "case-panel-dispatched")
        # On every map the unit is now dispatched; a click on it opens its task.
        expect(marker).to_have_class(re.compile(r"\bstatus-dispatched\b"), timeout=WAIT_MS)
        page.click("#case-panel-close")
        page.locator("#case-panel").wait_for(state="hidden", timeout=WAIT_MS)
        # Close enough that the neighbouring units (400 m apart) do not overlap it.
        page.evaluate(
            "(id) => { const m = window.pinganLive.units.get(id).marker;"
            " window.pinganLive.map.setView(m.getLatLng(), 16, {animate: false}); }",
            nearest_id,
        )
        marker.click()
        page.locator("#case-panel").wait_for(state="visible", timeout=WAIT_MS)
        expect(page.locator("#case-panel .timeline")).to_contain_text(f"派遣 {nearest}")
        assert outside == [] and errors == [], (outside, errors)


def test_manual_intake_shows_a_bad_phone_next_to_the_field(stack: RunningStack) -> None:
    """The walk-in form: missing and wrong fields are named beside them; nothing is sent."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        # The form opens as the top bar's 人工录入 button opens it: through the opened-case store.
        page.evaluate(
            "() => dash_clientside.set_props('selected-case', {data: {intake: true, n: 1}})"
        )
        page.locator("#intake-submit").wait_for(timeout=WAIT_MS)
        page.click("#intake-submit")
        expect(page.locator("#intake-form-category-error")).to_have_text("请选择类别")
        expect(page.locator("#intake-form-summary-error")).to_have_text("请填写事件简述")
        expect(page.locator("#intake-form-township-error")).to_have_text(
            "请填写经纬度或选择乡镇（街道）"
        )
        page.locator('#intake-form-category input[value="dispute"]').check()
        page.fill("#intake-form-summary", "邻居装修噪音扰民，多次协商未果")
        page.locator('#intake-form-township input[value="320118101000"]').check()
        page.fill("#intake-form-name", "李女士")
        page.fill("#intake-form-phone", "139-abc")
        page.click("#intake-submit")
        expect(page.locator("#intake-form-phone-error")).to_contain_text("电话号码格式不正确")
        expect(page.locator("#intake-form-summary-error")).to_have_text("")
        expect(page.locator("#intake-form-category-error")).to_have_text("")
        assert page.locator("#intake-notice").inner_text() == "", "nothing was sent"
        shoot(page, "intake-form-bad-phone")
        assert outside == [] and errors == [], (outside, errors)


def test_a_fire_case_runs_its_plan_from_the_panel(stack: RunningStack) -> None:
    """The matching plan is proposed; activated with one confirmation; a step ticked; closed."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        summary = f"老街居民楼三楼起火，有人被困 {uuid.uuid4().hex[:6]}"
        document = json.loads(report(summary))
        document |= {"category": "fire", "severity": 1}
        client.xadd(stack.stream_prefix + "intake", {"data": json.dumps(document)})
        client.close()
        row = queue_row(page, summary)
        row.wait_for(timeout=WAIT_MS)
        open_panel(page, int(row.get_attribute("row-id") or "0"))
        proposed = page.locator("#case-panel li.plan.proposed")
        expect(proposed).to_contain_text("人员密集居住区火灾应急预案", timeout=WAIT_MS)
        proposed.locator("button").click()
        expect(page.locator("#case-panel-dialog-title")).to_have_text(
            "确认启动预案：人员密集居住区火灾应急预案"
        )
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已启动预案", timeout=WAIT_MS)
        plan = page.locator("#case-panel li.plan.active")
        steps = plan.locator("li.step")
        expect(steps.first).to_contain_text("待办")
        expect(plan.locator(".progress")).to_have_text("已完成 0/" + str(steps.count()) + " 步")
        steps.first.locator("button").click()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已完成", timeout=WAIT_MS)
        expect(plan.locator("li.step").first).to_have_class("step done")
        shoot(page, "case-panel-plan")
        plan.locator("button", has_text="关闭预案").click()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-reason-error")).to_have_text("请填写原因")
        page.fill("#case-panel-reason", "明火已扑灭，被困人员全部救出")
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已关闭预案", timeout=WAIT_MS)
        expect(page.locator("#case-panel li.plan.closed")).to_contain_text("已关闭")
        assert outside == [] and errors == [], (outside, errors)


def test_the_panel_in_english(stack: RunningStack) -> None:
    """?lang=en: the panel's labels, steps and reasons are English."""
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="en")
        page = context.new_page()
        errors, outside = _console(page), fence(page)
        sign_in(page, stack)
        page.goto(stack.base_url + "/?lang=en")
        page.wait_for_selector("#link-status.live", timeout=WAIT_MS)
        case_id = new_case(stack, page, f"Bicycle stolen outside the market {uuid.uuid4().hex[:6]}")
        open_panel(page, case_id)
        panel = page.locator("#case-panel")
        expect(panel.locator(".facts")).to_contain_text("Reporter")
        expect(move_button(page, "accept")).to_have_text("Accept")
        expect(why_not(page, "verify_pass")).to_have_text(
            "Not allowed at the current step (Intake)"
        )
        expect(why_not(page, "escalate")).to_have_text("the county is the top tier")
        shoot(page, "case-panel-en")
        assert outside == [] and errors == [], (outside, errors)


async def _fleet_of_types(database_url: str, types: set[str]) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        await load_demo_units(conn, load_demo_pack(), at=datetime.now(UTC))
        records = await unit_records(conn)
        return [
            (r.unit.unit_id, r.unit.name, r.unit.type.value)
            for r in records
            if r.unit.type.value in types
        ]
    finally:
        await conn.close()


def test_send_all_fills_the_running_plans_force_package(stack: RunningStack) -> None:
    """全部派遣 sends the plan's package from the nearest units of each type; says what is short."""
    wanted = {"fire_engine", "ambulance", "patrol_car", "grid_worker"}
    with ThreadPoolExecutor(1) as pool:
        fleet = pool.submit(asyncio.run, _fleet_of_types(stack.env["DATABASE_URL"], wanted)).result(
            timeout=120
        )
    fire_engines = sum(1 for _, _, t in fleet if t == "fire_engine")
    assert 0 < fire_engines < 4, "the demo county has fewer fire engines than the plan asks"
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        at = datetime.now(UTC).isoformat()
        for n, (unit_id, _, _) in enumerate(fleet):
            fix = {"unit_id": unit_id, "lon": 118.87 + 0.0005 * (n % 40), "lat": 31.33, "at": at}
            client.xadd(stack.stream_prefix + "positions", {"data": json.dumps(fix)})
        page.locator(f'path.unit-marker[data-unit-id="{fleet[-1][0]}"]').wait_for(
            state="attached", timeout=WAIT_MS
        )
        summary = f"老街居民楼起火 {uuid.uuid4().hex[:6]}"
        document = json.loads(report(summary)) | {"category": "fire", "severity": 1}
        client.xadd(stack.stream_prefix + "intake", {"data": json.dumps(document)})
        client.close()
        row = queue_row(page, summary)
        row.wait_for(timeout=WAIT_MS)
        open_panel(page, int(row.get_attribute("row-id") or "0"))
        confirm(page, "accept")
        expect(page.locator("#case-panel-notice")).to_contain_text("已受理", timeout=WAIT_MS)
        assert page.locator("button.move.package").count() == 0, "no plan running yet"
        page.locator("#case-panel li.plan.proposed button").click()
        page.click("#case-panel-confirm")
        expect(page.locator("#case-panel-notice")).to_contain_text("已启动预案", timeout=WAIT_MS)
        page.locator("button.move.package").click()
        expect(page.locator("#case-panel-dialog-title")).to_have_text("确认按预案派遣全部力量")
        page.click("#case-panel-confirm")
        notice = page.locator("#case-panel-notice")
        sent = fire_engines + 2 + 2 + 3
        expect(notice).to_contain_text(f"已派遣 {sent} 个力量", timeout=WAIT_MS)
        expect(notice).to_contain_text(f"未能补齐：消防车×{4 - fire_engines}")
        expect(page.locator("#case-panel .assignments li")).to_have_count(sent)
        shoot(page, "case-panel-send-all")
        assert outside == [] and errors == [], (outside, errors)
