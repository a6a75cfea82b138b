"""End to end: people open a case in its panel and move it along, each as their role allows."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
from playwright.sync_api import Page, expect

from tests.browser import browser, fence
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


def _console(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def new_case(stack: RunningStack, page: Page, summary: str, **where: float) -> int:
    """Put a report on the intake stream; the case id once its row appears on the page."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    client.xadd(stack.stream_prefix + "intake", {"data": report(summary, **where)})
    client.close()
    row = page.locator("li.case-row", has_text=summary)
    row.wait_for(timeout=WAIT_MS)
    return int(row.get_attribute("data-case-id") or "0")


def open_panel(page: Page, case_id: int) -> None:
    """Open the case as a click on its row or marker does (the queue sets the store)."""
    page.evaluate(
        "([id, n]) => dash_clientside.set_props('selected-case', {data: {case_id: id, n: n}})",
        [case_id, 1],
    )
    page.locator("#case-panel").wait_for(state="visible", timeout=WAIT_MS)


def console_page(chromium: Any, stack: RunningStack, **who: str) -> tuple[Page, list[str], list[str]]:
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


def test_duty_officer_opens_and_accepts_a_case(stack: RunningStack) -> None:
    """The panel shows the case with its reporter masked; accept asks first, then the timeline says so."""
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
        expect(panel.locator(".why-not").first).to_contain_text("统一受理")
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
