"""Reading and writing RFC 7946 GeoJSON with coordinates rounded to 6 decimals (~0.1 m)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

COORD_DECIMALS = 6


def _round_coords(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, COORD_DECIMALS)
    if isinstance(value, list | tuple):
        return [_round_coords(v) for v in value]
    return value


def geometry_dict(geom: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry object with rounded coordinates and RFC 7946 ring orientation."""
    # RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise.
    oriented = shapely.orient_polygons(geom) if geom.geom_type.endswith("Polygon") else geom
    raw: dict[str, Any] = json.loads(shapely.to_geojson(oriented))
    return {"type": raw["type"], "coordinates": _round_coords(raw["coordinates"])}


def feature(geom: BaseGeometry, properties: Mapping[str, object]) -> dict[str, Any]:
    """One GeoJSON Feature."""
    return {"type": "Feature", "properties": dict(properties), "geometry": geometry_dict(geom)}


def feature_collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": list(features)}


def write_collection(path: Path, collection: Mapping[str, Any]) -> None:
    """Write a FeatureCollection compactly, one feature a line, so diffs stay readable."""
    lines = ['{"type": "FeatureCollection", "features": [']
    features = list(collection["features"])
    for i, feat in enumerate(features):
        sep = "," if i < len(features) - 1 else ""
        lines.append(json.dumps(feat, ensure_ascii=False, separators=(",", ":")) + sep)
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
