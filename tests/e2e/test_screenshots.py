"""Screenshots of each page as its user sees it, saved under artefacts/screenshots/ to be looked
at; each checked for real Chinese glyphs (not boxes), outside requests and console errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser import browser, fence, page_errors
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "screenshots"

# Draws two different ideographs in the page's own font: with no CJK font both come out as the
# same box, which innerText cannot see.
_GLYPHS = """async () => {
  const family = getComputedStyle(document.body).fontFamily;
  await document.fonts.load('40px ' + family, '指挥');
  await document.fonts.ready;
  const canvas = document.createElement('canvas'); canvas.width = canvas.height = 64;
  const ctx = canvas.getContext('2d');
  const ink = (ch) => { ctx.clearRect(0, 0, 64, 64); ctx.font = '40px ' + family;
    ctx.fillText(ch, 4, 48); return ctx.getImageData(0, 0, 64, 64).data.join(','); };
  return ink('指') !== ink('挥');
}"""


def shoot(page: Page, name: str) -> None:
    """Save the page as it is now, after checking that Chinese draws as glyphs."""
    # Font slices load as text needs them: give a page a few seconds to draw its glyphs.
    for _ in range(40):
        if page.evaluate(_GLYPHS):
            break
        page.wait_for_timeout(250)
    else:
        raise AssertionError(f"{name}: Chinese draws as boxes")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


def test_the_sign_in_admin_and_audit_pages_as_their_users_see_them(stack: RunningStack) -> None:
    """Login, wall sign-in, administrator's and auditor's pages at 1920×1080, in zh-CN."""
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page = context.new_page()
        errors = page_errors(page)
        outside = fence(page)
        page.goto(stack.base_url + "/login")
        page.fill("#username", "nobody")
        page.fill("#password", "wrong-password-1")
        page.click("button[type=submit]")
        shoot(page, "login")
        errors.clear()  # the refused sign-in itself answers 401, which the console reports
        page.goto(stack.base_url + "/display")
        shoot(page, "display-sign-in")
        sign_in(page, stack, role="administrator")
        page.goto(stack.base_url + "/admin")
        shoot(page, "admin")
        sign_in(page, stack, role="auditor")
        page.goto(stack.base_url + "/audit")
        assert page.locator("td", has_text="login").count() >= 1, "the failed sign-in is listed"
        shoot(page, "audit")
        assert outside == []
        assert errors == [], errors
