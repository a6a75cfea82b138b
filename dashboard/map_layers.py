"""The console map's static layers beyond the townships: villages, grids and key places.

They are geography, not cases: the same for every signed-in screen, so each is encoded and
compressed once at start and fetched by the browser after its first paint (grids are
about 1 MB of GeoJSON, which would otherwise sit in the page's layout). The browser draws
them by zoom and shades each grid by the open cases it holds (assets/web/live_layers.js).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

LAYERS = ("villages", "grids", "places")
# What the browser reads of each feature; the rest of the pack's properties stay out.
_KEEP = {
    "villages": ("code", "name", "parent_code"),
    "grids": ("code", "name", "parent_code"),
    "places": ("code", "name", "kind", "township_code"),
}
_CACHE = "private, max-age=3600"  # geography changes with a new pack, i.e. a restart


@dataclass(frozen=True, slots=True)
class EncodedLayer:
    """One layer as JSON bytes, plain and gzip-compressed."""

    plain: bytes
    gzipped: bytes


def trimmed(layer: str, collection: Mapping[str, Any]) -> dict[str, Any]:
    """A FeatureCollection with only the properties the console map reads."""
    keep = _KEEP[layer]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": f["geometry"],
                "properties": {k: (f.get("properties") or {}).get(k) for k in keep},
            }
            for f in collection.get("features", [])
        ],
    }


def encode_layers(collections: Mapping[str, Mapping[str, Any]]) -> dict[str, EncodedLayer]:
    """Each known layer trimmed and encoded once (compression level 6: done at start only)."""
    encoded: dict[str, EncodedLayer] = {}
    for name in LAYERS:
        if name in collections:
            compact = json.dumps(trimmed(name, collections[name]), separators=(",", ":"))
            plain = compact.encode()
            encoded[name] = EncodedLayer(plain, gzip.compress(plain, compresslevel=6, mtime=0))
    return encoded


def layer_response(layer: EncodedLayer, accept_encoding: str) -> Response:
    """The layer, compressed when the browser accepts it."""
    headers = {"Cache-Control": _CACHE, "Vary": "Accept-Encoding"}
    if "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return Response(layer.gzipped, media_type="application/geo+json", headers=headers)
    return Response(layer.plain, media_type="application/geo+json", headers=headers)


def add_map_layer_routes(server: FastAPI, layers: Mapping[str, EncodedLayer]) -> None:
    """GET /map/layers/{name}.geojson for the console's map (behind the session gate)."""

    @server.get("/map/layers/{name}.geojson")
    async def map_layer(name: str, request: Request) -> Response:
        layer = layers.get(name)
        if layer is None:
            return Response("unknown layer", status_code=404, media_type="text/plain")
        return layer_response(layer, request.headers.get("accept-encoding", ""))
