"""GeoJSON export of every layer and the self-contained situation map HTML."""

from __future__ import annotations

import json
import re

import pytest

from geo.camera_variants import cameras_for_pack
from geo.pack import load_demo_pack
from geo.situation_map import MapCase, cameras_geojson, situation_map_html

ALL_LAYERS = ["boundary", "townships", "villages", "grids", "roads", "places", "cameras"]


@pytest.mark.parametrize("layer", ALL_LAYERS)
def test_every_layer_exports_as_rfc7946(layer: str) -> None:
    """Each layer is a JSON-serialisable FeatureCollection with code, name and geom_source."""
    collection = load_demo_pack().layer_geojson(layer)
    text = json.dumps(collection, ensure_ascii=False)
    assert json.loads(text)["type"] == "FeatureCollection"
    for feature in collection["features"][:50]:
        assert {"code", "name", "geom_source"} <= set(feature["properties"])
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon", "LineString", "Point"}
    assert "crs" not in collection  # RFC 7946 drops the crs member: WGS-84 is implied


def test_generated_extras_are_synthetic() -> None:
    """Roads, places and cameras are all labelled synthetic."""
    pack = load_demo_pack()
    for layer in ("roads", "places", "cameras"):
        sources = {f["properties"]["geom_source"] for f in pack.layer_geojson(layer)["features"]}
        assert sources == {"synthetic"}


def test_large_camera_variant_exports() -> None:
    """The on-demand camera network exports like the pack's own layer."""
    collection = cameras_geojson(cameras_for_pack(load_demo_pack(), 600))
    assert len(collection["features"]) >= 590
    assert collection["features"][0]["properties"]["tier"] == "camera"


def test_situation_map_is_one_file_with_no_outside_reference() -> None:
    """The HTML inlines Leaflet and references no script, stylesheet or image by URL."""
    page = situation_map_html(load_demo_pack(), cases=[MapCase("c1", "事件", 118.8747, 31.3246)])
    assert "L.map(" in page and "leaflet-container" in page
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*\shref=", page)
    assert not re.search(r"url\(['\"]?(https?:)?//", page)


def test_situation_map_escapes_case_text() -> None:
    """Untrusted case text cannot inject markup or break out of folium's JS strings."""
    label = "<script>alert(1)</script>`${x}`"
    page = situation_map_html(load_demo_pack(), cases=[MapCase("c1", label, 118.8747, 31.3246)])
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#96;&#36;{x}&#96;" in page
