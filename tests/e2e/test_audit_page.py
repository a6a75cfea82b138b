"""The auditor's page on the real stack: the trail shown to auditors only, text never HTML."""

from __future__ import annotations

import pytest

from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e


def test_auditors_see_the_trail_and_everyone_else_is_refused_and_recorded(
    stack: RunningStack,
) -> None:
    """A duty officer gets 403 (audited); the auditor sees that refusal, filtered, as text."""
    with browser() as chromium:
        officer = chromium.new_page()
        sign_in(officer, stack, role="county_duty_officer")
        refused = officer.goto(stack.base_url + "/audit")
        assert refused is not None and refused.status == 403

        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack, role="auditor")
        page.goto(stack.base_url + "/audit?outcome=refused")
        rows = page.locator("table.audit tbody tr")
        assert rows.count() >= 1
        assert "audit.view" in page.inner_text("table.audit")
        assert "审计日志" in page.inner_text("body")
        page.goto(stack.base_url + "/audit?action=<script>window.__x=1</script>&lang=en")
        assert page.evaluate("window.__x") is None
        assert "No entries match" in page.inner_text("body")
        assert outside == []
