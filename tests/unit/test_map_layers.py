"""The console map's static layers: trimmed to what the browser reads, encoded once."""

from __future__ import annotations

import gzip
import json

from dashboard.map_layers import encode_layers, layer_response, trimmed
from geo.pack import load_demo_pack


def test_layers_keep_only_the_properties_the_map_reads() -> None:
    """Grids keep code, name and parent; geom_source and tier stay out of the page."""
    grids = trimmed("grids", load_demo_pack().layer_geojson("grids"))
    first = grids["features"][0]["properties"]
    assert set(first) == {"code", "name", "parent_code"}
    assert len(grids["features"]) == 3167


def test_each_layer_is_served_compressed_to_browsers_that_accept_it() -> None:
    """The gzip body decodes to the plain one; a client without gzip gets the plain one."""
    pack = load_demo_pack()
    layers = encode_layers({name: pack.layer_geojson(name) for name in ("villages", "places")})
    assert set(layers) == {"villages", "places"}
    villages = layers["villages"]
    assert gzip.decompress(villages.gzipped) == villages.plain
    assert len(villages.gzipped) < len(villages.plain) / 2
    zipped = layer_response(villages, "gzip, deflate, br")
    plain = layer_response(villages, "")
    assert zipped.headers["content-encoding"] == "gzip" and zipped.body == villages.gzipped
    assert "content-encoding" not in plain.headers
    assert len(json.loads(plain.body)["features"]) == 116
