"""The wall's SVG map and page: projected once on the server, everything escaped."""

from __future__ import annotations

from typing import Any

from dashboard.presenters.wall_map import WIDTH, projection_for, wall_map
from dashboard.wall_page import WALL_IDS, wall_html


def square(code: str, name: str, west: float, south: float, size: float) -> dict[str, Any]:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


TOWNSHIPS = {
    "type": "FeatureCollection",
    "features": [
        square("320118001000", "淳溪街道", 118.8, 31.3, 0.1),
        square("320118101000", "<b>阳江镇</b>", 118.9, 31.3, 0.1),
    ],
}
BOUNDARY = {"type": "FeatureCollection", "features": [square("320118", "高淳区", 118.8, 31.3, 0.2)]}


def test_the_projection_fits_the_outline_across_the_width_north_up() -> None:
    """West edge near x=0, east edge near WIDTH (3 % margins), north above south."""
    rings = [BOUNDARY["features"][0]["geometry"]["coordinates"][0]]
    projection = projection_for(rings)
    west_x, north_y = projection.xy(118.8, 31.5)
    east_x, south_y = projection.xy(119.0, 31.3)
    assert 0 < west_x < 0.05 * WIDTH and 0.95 * WIDTH < east_x < WIDTH
    assert north_y < south_y


def test_the_county_wall_draws_every_township_and_a_township_wall_only_its_own() -> None:
    """Focus on a township: one path, projected to fill the width by itself."""
    county = wall_map(TOWNSHIPS, BOUNDARY, "320118000000")
    assert [t.code for t in county.townships] == ["320118001000", "320118101000"]
    local = wall_map(TOWNSHIPS, BOUNDARY, "320118101000")
    assert [t.code for t in local.townships] == ["320118101000"]
    x, _ = local.projection.xy(118.9, 31.35)
    assert x < 0.05 * WIDTH, "the township's west edge is at the map's left"


def test_the_page_escapes_names_and_the_embedded_configuration() -> None:
    """A name with markup stays text, and the config attribute cannot be broken out of."""
    drawn = wall_map(TOWNSHIPS, BOUNDARY)
    page = wall_html("zh-CN", "高淳区综合指挥大屏", drawn, {"x": '"><script>alert(1)</script>'})
    assert "<b>阳江镇</b>" not in page and "&lt;b&gt;阳江镇&lt;/b&gt;" in page
    assert "<script>alert" not in page
    assert page.count("<script") == 1 and 'src="/assets/wall/wall.js"' in page
    assert f'id="{WALL_IDS["CONFIG"]}"' in page and "/assets/fonts/noto-sans-sc/" in page
