"""Wall screens on the real stack: a display token issued on /admin signs a wall in once, for
its jurisdiction only; revoking it ends the wall's page and socket; guessing is locked out."""

from __future__ import annotations

import re

import pytest

from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

YANGJIANG = "320118101000"


def test_a_wall_signs_in_with_its_token_and_is_cut_off_when_it_is_revoked(
    wall_stack: RunningStack,
) -> None:
    """Token shown once on /admin → the wall connects live as a wall screen → revoked → out."""
    stack = wall_stack
    with browser() as chromium:
        admin = chromium.new_page()
        sign_in(admin, stack, role="administrator")
        admin.goto(stack.base_url + "/admin?lang=en")
        displays = admin.locator("section", has_text="Wall-screen tokens")
        displays.locator("input[name=label]").fill("阳江镇 <i>大屏</i>")
        displays.locator("input[name=jurisdiction]").fill(YANGJIANG)
        displays.locator("button[type=submit]").first.click()
        notice = admin.inner_text(".notice")
        found = re.search(r"\(shown only now: enter it into the device\): (\S+)", notice)
        assert found, notice
        token = found.group(1)
        assert admin.locator("td", has_text="阳江镇 <i>大屏</i>").count() == 1, "shown as text"

        wall_context = chromium.new_context()
        wall = wall_context.new_page()
        outside = fence(wall)
        wall.goto(stack.base_url + "/")
        assert "/login" in wall.url
        wall.goto(stack.base_url + "/display")
        wall.fill("#token", "not-a-token")
        wall.click("button[type=submit]")
        assert wall.locator(".error").count() == 1
        wall.fill("#token", token)
        wall.click("button[type=submit]")
        # A wall screen lands on its wall, scoped to its township.
        wall.wait_for_selector("#wall-link.live", timeout=15_000)
        assert "/wall" in wall.url and "阳江镇" in wall.inner_text("h1")
        cookies = {c["name"]: c for c in wall_context.cookies()}
        assert (
            cookies["pingan_display"]["httpOnly"]
            and cookies["pingan_display"]["sameSite"] == "Strict"
        )
        # The wall's socket is scoped to its township: asking for the county is refused.
        answer = wall.evaluate(
            """(url) => new Promise((done) => {
                const ws = new WebSocket(url);
                const ask = {type: "subscribe", scope: "320118000000", since: null, batch: true};
                ws.onopen = () => ws.send(JSON.stringify(ask));
                ws.onmessage = (m) => { done(JSON.parse(m.data)); ws.close(); };
                ws.onerror = () => done({type: "socket-error"});
            })""",
            f"ws://127.0.0.1:{stack.ws_port}/live",
        )
        assert answer["type"] == "error" and "outside your jurisdiction" in answer["reason"]

        admin.locator("tr", has_text="阳江镇").locator("button").click()
        assert "revoked" in admin.locator("tr", has_text="阳江镇").inner_text()
        wall.wait_for_selector("#wall-link:not(.live)", timeout=15_000)
        wall.reload()
        assert "/display" in wall.url, "a revoked wall goes back to the token form"
        assert outside == []
