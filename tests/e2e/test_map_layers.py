"""End to end: villages, grids and key places on the console map; grids shaded by open cases."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
from playwright.sync_api import Page

from tests.browser import browser
from tests.e2e.test_case_panel import console_page, new_case
from tests.e2e.test_screenshots import shoot
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

WAIT_MS = 15_000
# Three different calls at one spot of 淳溪街道 (different categories: they do not merge).
SPOT = {"lon": 118.8747, "lat": 31.3246}
CATEGORIES = ("public_security", "fire", "traffic")


def _grid_counts(stack: RunningStack, case_id: int) -> tuple[str, int]:
    """The grid a case lies in, and how many open cases that grid holds (from the store)."""

    async def run() -> tuple[str, int]:
        conn = await asyncpg.connect(stack.env["DATABASE_URL"])
        try:
            grid = await conn.fetchval("SELECT grid_code FROM cases WHERE id = $1", case_id)
            n = await conn.fetchval(
                "SELECT count(*) FROM cases WHERE grid_code = $1 AND status = 'open'", grid
            )
            return str(grid), int(n)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def _loaded(page: Page) -> None:
    page.wait_for_function(
        "() => window.pinganLayers && ['villages', 'grids', 'places']"
        ".every(n => window.pinganLayers.loaded[n] === true)",
        timeout=WAIT_MS,
    )


def _toggle(page: Page, layer: str) -> None:
    page.click(f'#layer-toggles button[data-layer="{layer}"]')


def test_grids_are_shaded_by_the_open_cases_they_hold(stack: RunningStack) -> None:
    """The hot-spot count of a grid is its open cases; outlines come by zoom; switches work."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        _loaded(page)
        layers = page.evaluate(
            "() => [window.pinganLayers.villages.length, window.pinganLayers.grids.size,"
            " window.pinganLayers.places.length]"
        )
        assert layers == [116, 3167, 58], layers  # the demo county pack's divisions and places
        tag = uuid.uuid4().hex[:6]
        ids = []
        for category in CATEGORIES:
            ids.append(
                new_case(stack, page, f"热点测试 {category} {tag}", **SPOT, category=category)
            )
        grid, expected = _grid_counts(stack, ids[-1])
        assert expected >= len(CATEGORIES)
        page.wait_for_function(
            "([g, n]) => window.pinganLayers.hotCount(g) === n",
            arg=[grid, expected],
            timeout=WAIT_MS,
        )
        place_shown = "() => window.pinganLive.map.hasLayer(window.pinganLayers.places[0])"
        # At the county's zoom only hot grids are drawn (no key places), and the hot-spot
        # switch hides them.
        assert not page.evaluate(place_shown)
        assert page.evaluate("(g) => window.pinganLayers.drawn(g)", grid)
        quiet = page.evaluate(
            "() => [...window.pinganLayers.grids.entries()].find(([, g]) => g.count === 0)[0]"
        )
        assert not page.evaluate("(g) => window.pinganLayers.drawn(g)", quiet)
        _toggle(page, "hotspots")
        assert not page.evaluate("(g) => window.pinganLayers.drawn(g)", grid)
        _toggle(page, "hotspots")
        assert page.evaluate("(g) => window.pinganLayers.drawn(g)", grid)
        tip = page.evaluate("(g) => window.pinganLayers.grids.get(g).tip.textContent", grid)
        assert f"未结 {expected} 起" in tip, tip
        # Zoomed in to the spot, every grid's outline is drawn; the divisions switch hides them.
        page.evaluate(
            "([lat, lon]) => { window.pinganLive.map.setView([lat, lon], 14, {animate: false}); }",
            [SPOT["lat"], SPOT["lon"]],
        )
        assert page.evaluate("(g) => window.pinganLayers.drawn(g)", quiet)
        assert page.evaluate(place_shown)
        _toggle(page, "places")
        assert not page.evaluate(place_shown)
        _toggle(page, "places")
        _toggle(page, "divisions")
        assert not page.evaluate("(g) => window.pinganLayers.drawn(g)", quiet)
        assert page.evaluate("(g) => window.pinganLayers.drawn(g)", grid), "still a hot spot"
        _toggle(page, "divisions")
        shoot(page, "console-map-layers")
        assert errors == [] and outside == [], (errors, outside)


def test_the_layers_are_served_compressed_and_only_to_signed_in_screens(
    stack: RunningStack,
) -> None:
    """A signed-in page gets each layer (gzip); without a session, or for a junk name, no."""
    with browser() as chromium:
        page, _, _ = console_page(chromium, stack)
        got = page.request.get(stack.base_url + "/map/layers/places.geojson")
        assert got.status == 200 and len(got.json()["features"]) == 58
        assert got.headers.get("content-encoding") == "gzip"
        assert set(got.json()["features"][0]["properties"]) == {
            "code",
            "name",
            "kind",
            "township_code",
        }
        assert page.request.get(stack.base_url + "/map/layers/cases.geojson").status == 404
        anonymous = chromium.new_context().request
        refused = anonymous.get(stack.base_url + "/map/layers/grids.geojson", max_redirects=0)
        assert refused.status in (302, 303, 401, 403), refused.status


_CENTRE_OF_VILLAGE = """(n) => {
  const map = window.pinganLive.map, v = window.pinganLayers.villages[n];
  const box = map.getContainer().getBoundingClientRect();
  const c = v.getBounds().getCenter(), p = map.latLngToContainerPoint(c);
  return {x: box.left + p.x, y: box.top + p.y, lat: c.lat, lng: c.lng};
}"""


def test_clicks_drill_from_the_county_to_a_township_a_village_and_a_grid(
    stack: RunningStack,
) -> None:
    """Each click where nothing is drawn fits the map one tier down, around the click."""
    with browser() as chromium:
        page, errors, outside = console_page(chromium, stack)
        _loaded(page)
        for layer in ("cameras", "places", "units", "cases"):
            _toggle(page, layer)  # nothing else in the way of the clicks
        zooms = [page.evaluate("() => window.pinganLive.map.getZoom()")]
        for _ in range(3):
            spot = page.evaluate(_CENTRE_OF_VILLAGE, 40)
            page.mouse.click(spot["x"], spot["y"])
            page.wait_for_function(
                "(z) => window.pinganLive.map.getZoom() > z + 0.2", arg=zooms[-1], timeout=WAIT_MS
            )
            page.wait_for_timeout(400)  # the fit's animation ends
            zooms.append(page.evaluate("() => window.pinganLive.map.getZoom()"))
            assert page.evaluate(
                "(s) => window.pinganLive.map.getBounds().contains([s.lat, s.lng])", spot
            )
        assert zooms == sorted(zooms) and zooms[-1] >= 13, zooms
        assert errors == [] and outside == [], (errors, outside)
