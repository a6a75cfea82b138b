"""End to end: a report put on the intake stream appears on the open page, without reload."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis

from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

LIVENESS_BOUND_S = 5.0


def report(summary: str, lon: float = 118.8747, lat: float = 31.3246) -> str:
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
        },
        ensure_ascii=False,
    )


def test_report_appears_in_queue_and_on_map_without_reload(stack: RunningStack) -> None:
    """XADD → queue row and map marker appear by push: no reload, no outside request."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    intake = stack.stream_prefix + "intake"
    with browser() as chromium:
        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack)
        page.goto(stack.base_url + "/")
        page.wait_for_selector("#link-status.live", timeout=15_000)
        assert "平安指挥" in page.content()
        # The socket opens before the map is drawn: wait for the township polygons themselves.
        page.wait_for_function(
            "() => document.querySelectorAll('path.leaflet-interactive').length >= 8"
        )
        page.evaluate("window.__sameDocument = true")

        summary = f'老街东段打架 <img src=x onerror="window.__xss=1"> {uuid.uuid4().hex[:6]}'
        sent = time.monotonic()
        client.xadd(intake, {"data": report(summary)})
        row = page.locator("#case-queue .ag-center-cols-container .ag-row", has_text=summary)
        row.wait_for(timeout=LIVENESS_BOUND_S * 1000)
        delay = time.monotonic() - sent
        case_no = row.locator('[col-id="case_no"].case-no').inner_text()
        assert case_no.startswith("320118-")
        # Cases are drawn on one canvas (no element per marker): ask the map what it drew.
        drawn = page.evaluate("(no) => window.pinganLive.drawnAs(no)", case_no)
        assert drawn in ("marker", "cluster"), drawn

        assert page.evaluate("window.__sameDocument === true"), "the page must not reload"
        assert page.evaluate("window.__xss === undefined"), "summary must render as text"
        assert row.locator("img").count() == 0
        assert "13951234567" not in page.content(), "no personal data on the shared screen"
        assert outside == [], f"requests left the machine: {outside}"

    print(f"XADD → DOM delay: {delay * 1000:.0f} ms")


def test_english_switch_keeps_the_live_page(stack: RunningStack) -> None:
    """?lang=en shows the English labels and still connects live."""
    with browser() as chromium:
        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack)
        page.goto(stack.base_url + "/?lang=en")
        page.wait_for_selector("#link-status.live", timeout=15_000)
        assert "Live intake" in page.inner_text("body")
        assert outside == []


def test_unit_positions_and_degraded_banner_arrive_live(stack: RunningStack) -> None:
    """A unit's fix moves its marker; a storage outage shows a banner until it recovers."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    prefix = stack.stream_prefix
    with browser() as chromium:
        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack)
        page.goto(stack.base_url + "/")
        page.wait_for_selector("#link-status.live", timeout=15_000)

        at = datetime.now(UTC).isoformat()  # a fix is only believed near the server's clock
        fix = {"unit_id": "patrol-e2e-1", "lon": 118.87, "lat": 31.33, "at": at}
        client.xadd(prefix + "positions", {"data": json.dumps(fix)})
        unit = page.locator('path.unit-marker[data-unit-id="patrol-e2e-1"]')
        unit.wait_for(state="attached", timeout=LIVENESS_BOUND_S * 1000)

        since = "2026-11-26T13:31:00+00:00"
        degraded = {
            "schema": "event/1",
            "type": "system.degraded",
            "at": since,
            "actor": "system:ingest",
            "component": "storage",
            "since": since,
            "reason": "test outage",
        }
        client.xadd(prefix + "events", {"data": json.dumps(degraded)})
        banner = page.locator("#degraded-banner")
        banner.wait_for(state="visible", timeout=LIVENESS_BOUND_S * 1000)
        assert "降级运行" in banner.inner_text()
        recovered = {**degraded, "type": "system.recovered", "until": since}
        client.xadd(prefix + "events", {"data": json.dumps(recovered)})
        banner.wait_for(state="hidden", timeout=LIVENESS_BOUND_S * 1000)
        assert outside == []
