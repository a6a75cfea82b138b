"""The exported situation map opens in a real Chromium with every network request blocked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from geo.pack import load_demo_pack
from geo.situation_map import MapCase, MapUnit, write_situation_map

pytestmark = pytest.mark.e2e

CASES = [
    MapCase(
        "320118-20261126-0042", "<img src=x onerror=alert(1)>高淳老街打架", 118.8747, 31.3246, 2
    ),
    MapCase("320118-20261126-0043", "固城湖边民房冒烟", 118.9142, 31.2788, 1),
]
UNITS = [MapUnit("U-001", "淳溪派出所巡逻车1", 118.8801, 31.3302, "空闲")]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--headless=new"]
        )
        try:
            yield instance
        finally:
            instance.close()


def _open_offline(browser: Browser, file: Path) -> tuple[list[str], list[str], Page]:
    """Open a file with every non-file request aborted; return (blocked, errors, page)."""
    page = browser.new_page()
    blocked: list[str] = []
    errors: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    # Any script injected through case text would call alert(); record instead of blocking.
    page.add_init_script("window.alerts = []; window.alert = (m) => window.alerts.push(m);")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(file.as_uri())
    page.wait_for_function(
        "typeof L !== 'undefined' && document.querySelector('canvas')", timeout=15_000
    )
    return blocked, errors, page


def test_county_map_renders_offline(browser: Browser, tmp_path: Path) -> None:
    """Leaflet is inlined, nothing is fetched, markers and legend are drawn, text is escaped."""
    file = write_situation_map(
        tmp_path / "county.html",
        load_demo_pack(),
        cases=CASES,
        units=UNITS,
        at=datetime(2026, 11, 26, 13, 14, tzinfo=UTC),
    )
    blocked, errors, page = _open_offline(browser, file)
    assert blocked == []
    assert errors == []
    assert page.evaluate("typeof L") == "object"
    legend = page.locator("#situation-legend")
    assert "高淳区全域态势图" in legend.inner_text()
    assert "事件（颜色按等级） 2" in legend.inner_text()
    assert "监控点位（在线） " in legend.inner_text()
    # Case, unit and place markers are Leaflet layers on the map; count them in the page.
    markers = page.evaluate(
        """() => { let n = 0; for (const k in window) { const v = window[k];
            if (v instanceof L.CircleMarker) n++; } return n; }"""
    )
    assert markers >= len(CASES) + len(UNITS)
    assert page.evaluate("window.alerts") == []
    assert "<img src=x" not in file.read_text(encoding="utf-8")


def test_case_map_renders_offline(browser: Browser, tmp_path: Path) -> None:
    """A map focused on one case shows its grids and nearby cameras with no network."""
    file = write_situation_map(
        tmp_path / "case.html", load_demo_pack(), cases=CASES[:1], focus=(118.8747, 31.3246)
    )
    blocked, errors, page = _open_offline(browser, file)
    assert blocked == [] and errors == []
    assert "高淳区案件态势图" in page.locator("#situation-legend").inner_text()
    zoom = page.evaluate(
        """() => { for (const k in window) {
            if (window[k] instanceof L.Map) return window[k].getZoom(); } }"""
    )
    assert zoom == 15
