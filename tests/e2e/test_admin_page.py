"""The administrator's page on the real stack: accounts made and reset, others refused."""

from __future__ import annotations

import re

import pytest

from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e


def test_an_administrator_creates_resets_and_disables_accounts(stack: RunningStack) -> None:
    """A new account's one-time password is shown once and works; a duty officer is refused."""
    with browser() as chromium:
        officer = chromium.new_page()
        sign_in(officer, stack, role="county_duty_officer")
        refused = officer.goto(stack.base_url + "/admin")
        assert refused is not None and refused.status == 403

        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack, role="administrator")
        page.goto(stack.base_url + "/admin?lang=en")
        page.fill("input[name=username]", "gucheng")
        page.fill("input[name=display_name]", "<b>固城镇</b> 钱进")
        page.select_option("select[name=role]", "township_coordinator")
        page.fill("input[name=jurisdiction]", "320118102000")
        page.click("form.audit-filters button[type=submit]")
        notice = page.inner_text(".notice")
        found = re.search(r"One-time password of gucheng: (\S+)", notice)
        assert found, notice
        assert page.locator("td", has_text="<b>固城镇</b> 钱进").count() == 1, "shown as text"

        fresh = chromium.new_page()
        fresh.goto(stack.base_url + "/login")
        fresh.fill("#username", "gucheng")
        fresh.fill("#password", found.group(1))
        fresh.click("button[type=submit]")
        assert "/password" in fresh.url, "the one-time password works, and must be changed"

        row = page.locator("tr", has_text="gucheng")
        row.locator("button[value=disable]").click()
        assert "disabled" in page.locator("tr", has_text="gucheng").inner_text()
        fresh.goto(stack.base_url + "/password")
        assert "/login" in fresh.url, "disabling ended the account's session"
        assert outside == []
