"""End to end: the console map's camera layer, scoped by the viewer and recoloured live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import pytest
import redis
from playwright.sync_api import Page

from tests.browser import browser, fence, page_errors
from tests.e2e.sessions import sign_in
from tests.e2e.test_screenshots import shoot
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

LIVENESS_BOUND_S = 5.0
TOWNSHIP = "320118102000"
HOSTILE_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">东坝路口'
T = TypeVar("T")

# Where a camera is drawn on the shared canvas, in the page's CSS pixels, and the colour of
# the canvas pixel there (read from the canvas itself: the marker has no element of its own).
_DRAWN = """(code) => {
  const map = window.pinganLive.map, cam = window.pinganCameras.state.cameras.get(code);
  const canvas = map.getPane('pingan-cases').querySelector('canvas');
  const box = map.getContainer().getBoundingClientRect(), c = canvas.getBoundingClientRect();
  const p = map.latLngToContainerPoint(cam.marker.getLatLng());
  const x = box.left + p.x, y = box.top + p.y;
  const px = canvas.getContext('2d').getImageData(
    Math.round((x - c.left) * canvas.width / c.width),
    Math.round((y - c.top) * canvas.height / c.height), 1, 1).data;
  return {x, y, rgb: [px[0], px[1], px[2]], alpha: px[3]};
}"""


def _db(stack: RunningStack, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `work` on the stack's database, in a thread of its own (Playwright owns this one)."""

    async def run() -> T:
        conn = await asyncpg.connect(stack.env["DATABASE_URL"])
        try:
            return await work(conn)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def _codes(stack: RunningStack, township: str | None = None) -> list[str]:
    async def work(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT code FROM cameras WHERE $1::text IS NULL OR township_code = $1 ORDER BY code",
            township,
        )
        return [r["code"] for r in rows]

    return _db(stack, work)


def _status(stack: RunningStack, code: str, status: str) -> None:
    """Put a camera notice on the cameras stream, as a camera (or the platform bridge) does."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    notice = {"camera_id": code, "status": status, "at": datetime.now(UTC).isoformat()}
    client.xadd(stack.stream_prefix + "cameras", {"data": json.dumps(notice)})
    client.close()


def _open_console(page: Page, stack: RunningStack) -> None:
    page.goto(stack.base_url + "/")
    page.wait_for_selector("#link-status.live", timeout=15_000)
    page.wait_for_function("() => window.pinganCameras && window.pinganCameras.loaded()")


def _shown(page: Page, code: str) -> dict[str, Any]:
    shown: dict[str, Any] = page.evaluate("(c) => window.pinganCameras.shown(c)", code)
    return shown


def test_county_cameras_recolour_live_and_the_popup_shows_names_as_text(
    stack: RunningStack,
) -> None:
    """All cameras load; an alarm on the cameras stream repaints one marker; its popup is text."""
    county = _codes(stack)
    hostile, quiet = county[0], county[1]

    async def rename(conn: asyncpg.Connection) -> None:
        await conn.execute("UPDATE cameras SET name = $1 WHERE code = $2", HOSTILE_NAME, hostile)

    _db(stack, rename)
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1600, "height": 900})
        errors = page_errors(page)
        outside = fence(page)
        sign_in(page, stack)
        _open_console(page, stack)
        assert page.evaluate("window.pinganCameras.codes().sort()") == county
        # At the county's zoom a camera never heard from is not drawn (only the down ones are).
        assert _shown(page, hostile) == {
            "status": None,
            "since": None,
            "fillColor": "#4a5868",
            "onMap": False,
        }

        # The 8 townships and the county line are SVG; wait for them before counting.
        page.wait_for_function(
            "() => document.querySelectorAll('.leaflet-overlay-pane path').length >= 9"
        )
        paths_before = page.evaluate("document.querySelectorAll('path').length")
        _status(stack, hostile, "alarm")
        page.wait_for_function(
            "(c) => window.pinganCameras.shown(c).status === 'alarm'",
            arg=hostile,
            timeout=LIVENESS_BOUND_S * 1000,
        )
        shown = _shown(page, hostile)
        assert shown["onMap"] and shown["fillColor"] == "#ff2d55"
        page.wait_for_timeout(100)  # the canvas repaints on the next animation frame
        drawn = page.evaluate(_DRAWN, hostile)
        assert drawn["alpha"] > 200 and drawn["rgb"] == [255, 45, 85], drawn
        # Drawn on the cases' canvas: no element per camera.
        assert page.evaluate("document.querySelectorAll('path').length") == paths_before

        # Near enough, the working cameras show too; the popup names the camera as text.
        page.evaluate(
            "(c) => { const m = window.pinganCameras.state.cameras.get(c).marker;"
            " window.pinganLive.map.setView(m.getLatLng(), 16, {animate: false}); }",
            hostile,
        )
        page.wait_for_function("(c) => window.pinganCameras.shown(c).onMap", arg=quiet)
        page.wait_for_timeout(200)
        drawn = page.evaluate(_DRAWN, hostile)
        page.mouse.click(drawn["x"], drawn["y"])
        popup = page.locator(".camera-popup .camera-tip")
        popup.wait_for(timeout=3000)
        assert HOSTILE_NAME in popup.inner_text()
        assert hostile in popup.inner_text() and "报警" in popup.inner_text()
        assert "自 " in popup.inner_text()  # since when
        assert popup.locator("script, img").count() == 0
        assert page.evaluate("window.__xss === undefined"), "a camera's name must render as text"

        toggle = page.locator("#layer-toggles button[data-layer='cameras']")
        toggle.click()
        assert not _shown(page, hostile)["onMap"] and not _shown(page, quiet)["onMap"]
        toggle.click()
        assert _shown(page, hostile)["onMap"] and _shown(page, quiet)["onMap"]
        assert errors == [], errors
        assert outside == [], f"requests left the machine: {outside}"


def test_a_township_user_sees_only_its_townships_cameras(stack: RunningStack) -> None:
    """The route answers a township coordinator with that township's cameras, no others."""
    own = _codes(stack, TOWNSHIP)
    assert 0 < len(own) < len(_codes(stack))
    with browser() as chromium:
        page = chromium.new_page()
        errors = page_errors(page)
        outside = fence(page)
        sign_in(page, stack, role="township_coordinator", jurisdiction=TOWNSHIP)
        _open_console(page, stack)
        assert page.evaluate("window.pinganCameras.codes().sort()") == own
        assert errors == [] and outside == []


def test_twenty_thousand_cameras_stay_on_canvas(stack: RunningStack) -> None:
    """20,000 cameras (5% down) load and paint on the canvas; prints the time it took."""
    statuses = ["offline", "fault", "alarm"] + ["online"] * 57
    rows = [
        [f"bench{i:05d}", 118.75 + (i % 200) * 0.0018, 31.22 + (i // 200) * 0.0022,
         statuses[i % 60], None, f"点位{i}"]
        for i in range(20_000)
    ]  # fmt: skip
    body = {"fields": ["code", "lon", "lat", "status", "since", "name"], "rows": rows}
    measure = """async (body) => {
      const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
      const cams = window.pinganCameras, map = window.pinganLive.map;
      const t0 = performance.now(); cams.load(body); await frame(); await frame();
      const county = performance.now() - t0;
      const t1 = performance.now();
      map.setZoom(cams.ONLINE_FROM_ZOOM, {animate: false}); await frame(); await frame();
      const zoomed = performance.now() - t1;
      const t2 = performance.now(); map.panBy([300, 200], {animate: false});
      await frame(); await frame();
      return {county, zoomed, pan: performance.now() - t2, count: cams.count(), zoom: map.getZoom(),
              paths: document.querySelectorAll('path').length};
    }"""
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1920, "height": 1080})
        errors = page_errors(page)
        sign_in(page, stack)
        _open_console(page, stack)
        paths = page.evaluate("document.querySelectorAll('path').length")
        figures = page.evaluate(measure, body)
        assert figures["count"] == 20_000
        assert figures["paths"] == paths, "cameras must not become SVG elements"
        assert errors == []
    print(
        f"20,000 cameras: load + paint at county zoom {figures['county']:.0f} ms, zoom to "
        f"{figures['zoom']} {figures['zoomed']:.0f} ms, pan {figures['pan']:.0f} ms"
    )


def test_the_console_with_the_camera_layer_as_a_duty_officer_sees_it(stack: RunningStack) -> None:
    """A screenshot (artefacts/screenshots/console-cameras.png) with every status showing."""
    own = _codes(stack, TOWNSHIP)
    for i, code in enumerate(own[:60]):
        _status(stack, code, ("offline", "fault", "alarm", "online", "online")[i % 5])
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page = context.new_page()
        errors = page_errors(page)
        outside = fence(page)
        sign_in(page, stack)
        _open_console(page, stack)
        page.wait_for_function(
            "(c) => window.pinganCameras.shown(c).status === 'online'", arg=own[58]
        )
        page.evaluate(
            "(c) => { const m = window.pinganCameras.state.cameras.get(c).marker;"
            " window.pinganLive.map.setView(m.getLatLng(), 14, {animate: false}); }",
            own[2],
        )
        page.wait_for_timeout(300)
        drawn = page.evaluate(_DRAWN, own[2])
        page.mouse.click(drawn["x"], drawn["y"])
        page.locator(".camera-popup").wait_for(timeout=3000)
        page.wait_for_timeout(400)  # the popup fades in
        shoot(page, "console-cameras")
        assert errors == [] and outside == []
