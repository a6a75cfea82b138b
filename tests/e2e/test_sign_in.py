"""Signing in through the real page: the form, a one-time password, lock-out, sign-out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from playwright.sync_api import Page

from incidents.store.accounts import create_user
from tests.browser import browser, fence
from tests.e2e.sessions import PASSWORD
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e


def make_account(stack: RunningStack, username: str, must_change: bool) -> None:
    """An account in the stack's store with the test password."""

    async def create() -> None:
        conn = await asyncpg.connect(stack.env["DATABASE_URL"])
        try:
            now = datetime.now(UTC)
            await create_user(
                conn, username, "李华", "county_duty_officer", "320118000000", PASSWORD, now,
                must_change=must_change,
            )  # fmt: skip
        finally:
            await conn.close()

    asyncio.run(create())


def submit(page: Page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_nothing_is_served_before_signing_in_and_the_console_after(stack: RunningStack) -> None:
    """The console redirects to the zh-CN sign-in page; a one-time password must be changed."""
    make_account(stack, "duty-li", must_change=True)
    with browser() as chromium:
        page = chromium.new_page()
        outside = fence(page)
        page.goto(stack.base_url + "/")
        assert page.url.endswith("/login")
        assert (
            "登录" in page.inner_text("body")
            and page.locator("html").get_attribute("lang") == "zh-CN"
        )
        submit(page, "duty-li", "wrong password 1")
        assert "用户名或密码错误" in page.inner_text("body")
        submit(page, "duty-li", PASSWORD)
        assert "/password" in page.url, "a one-time password must be changed first"
        page.fill("#new_password", "short")
        page.fill("#repeat", "short")
        page.click("button[type=submit]")
        assert "at least 10 characters" in page.inner_text("body")
        page.fill("#new_password", "Neuer-Pass-2026")
        page.fill("#repeat", "Neuer-Pass-2026")
        page.click("button[type=submit]")
        page.wait_for_selector("#link-status.live", timeout=15_000)
        assert "duty-li" in page.inner_text("header")

        page.click("button.signout")
        page.wait_for_url("**/login**")
        page.goto(stack.base_url + "/")
        assert "/login" in page.url, "the session ended on the server"
        assert outside == []


def test_repeated_failures_lock_the_account_out(stack: RunningStack) -> None:
    """After five wrong passwords even the right one is refused for a while."""
    make_account(stack, "duty-wang", must_change=False)
    with browser() as chromium:
        page = chromium.new_page()
        page.goto(stack.base_url + "/login?lang=en")
        for n in range(5):
            submit(page, "duty-wang", f"wrong password {n}")
        submit(page, "duty-wang", PASSWORD)
        assert "Too many failed sign-ins" in page.inner_text("body")
        assert page.url.split("?")[0].endswith("/login")
