"""The browser protections on the real stack: headers, no API docs, refusals, a clean CSP."""

from __future__ import annotations

import http.client
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e


def raw_request(
    stack: RunningStack,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    declared: int | None = None,
) -> int:
    """The status of one request sent exactly as given (any Host header, any length)."""
    parts = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body) if declared is None else declared))
        connection.endheaders(body)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_page_is_served_with_its_protections_and_without_api_docs(
    stack: RunningStack,
) -> None:
    """Headers on the page; /docs and /openapi.json do not exist; forged requests refused."""
    with urllib.request.urlopen(stack.base_url + "/", timeout=10) as response:
        headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    for path in ("/docs", "/redoc", "/openapi.json"):
        # Dash answers every unknown path with its own page; the framework's docs never.
        with urllib.request.urlopen(stack.base_url + path, timeout=10) as response:
            body = response.read().decode("utf-8", "replace").lower()
        assert "swagger" not in body and "redoc" not in body and '"openapi"' not in body, path
    host = urlsplit(stack.base_url).netloc
    assert raw_request(stack, "GET", "/", {"Host": "evil.example"}) == 421
    update = "/_dash-update-component"
    json_type = {"Host": host, "Content-Type": "application/json"}
    assert raw_request(stack, "POST", update, json_type, b"{}") == 403  # no CSRF token
    big = {**json_type, "Cookie": "_csrf_token=t", "X-CSRFToken": "t"}
    assert raw_request(stack, "POST", update, big, declared=2 * 1024 * 1024) == 413


def test_the_live_page_runs_under_its_policy_with_no_violation(stack: RunningStack) -> None:
    """Dash, Leaflet and the live socket work with the CSP; the console reports no refusal."""
    with browser() as chromium:
        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack)
        problems: list[str] = []
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(stack.base_url + "/")
        page.wait_for_selector("#link-status.live", timeout=15_000)
        page.wait_for_timeout(500)
        assert outside == []
        refused = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
        assert refused == []
