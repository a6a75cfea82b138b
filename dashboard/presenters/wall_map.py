"""The wall's map as SVG: township outlines projected once on the server, and the projection
the browser uses to place cases, units and cameras (no tiles, no map library to leak)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 1000.0  # the SVG user units across; the page scales it to any screen


@dataclass(frozen=True, slots=True)
class Projection:
    """Equirectangular at the middle latitude: x = (lon - west)·k·cos φ0, y = (north - lat)·k."""

    west: float
    north: float
    scale: float  # SVG units per degree of latitude
    cos_lat: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """A WGS-84 point in SVG units."""
        return (
            round((lon - self.west) * self.cos_lat * self.scale, 1),
            round((self.north - lat) * self.scale, 1),
        )

    def as_config(self) -> dict[str, float]:
        """What the browser needs to project the same way."""
        return {"west": self.west, "north": self.north, "k": self.scale, "cos": self.cos_lat}


@dataclass(frozen=True, slots=True)
class Township:
    """One township's outline path and where its name goes."""

    code: str
    name: str
    path: str
    label: tuple[float, float]


@dataclass(frozen=True, slots=True)
class WallMap:
    """The whole SVG map: its viewBox, townships, the boundary, and the projection."""

    width: float
    height: float
    townships: tuple[Township, ...]
    boundary: str
    projection: Projection


Ring = Sequence[Sequence[float]]


def _rings(geometry: Mapping[str, Any]) -> list[Ring]:
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return list(coords)
    if kind == "MultiPolygon":
        return [ring for polygon in coords for ring in polygon]
    return []


def _features(layer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(layer.get("features") or [])


def _bounds(rings: Iterable[Ring]) -> tuple[float, float, float, float]:
    lons, lats = [], []
    for ring in rings:
        for lon, lat, *_ in ring:
            lons.append(lon)
            lats.append(lat)
    return min(lons), min(lats), max(lons), max(lats)


def projection_for(rings: Sequence[Ring], margin: float = 0.03) -> Projection:
    """The projection that fits these rings into WIDTH units across, with a small margin."""
    west, south, east, north = _bounds(rings)
    pad_lon, pad_lat = (east - west) * margin, (north - south) * margin
    west, east, south, north = west - pad_lon, east + pad_lon, south - pad_lat, north + pad_lat
    cos_lat = math.cos(math.radians((north + south) / 2))
    return Projection(west, north, WIDTH / ((east - west) * cos_lat), cos_lat)


def path_of(rings: Iterable[Ring], projection: Projection) -> str:
    """An SVG path drawing every ring, closed."""
    parts = []
    for ring in rings:
        points = [projection.xy(lon, lat) for lon, lat, *_ in ring]
        if points:
            parts.append("M" + "L".join(f"{x},{y}" for x, y in points) + "Z")
    return "".join(parts)


def _label(rings: Sequence[Ring], projection: Projection) -> tuple[float, float]:
    """The middle of the largest ring's bounding box (a readable spot for the name)."""
    largest = max(rings, key=len)
    west, south, east, north = _bounds([largest])
    return projection.xy((west + east) / 2, (north + south) / 2)


def wall_map(
    townships: Mapping[str, Any], boundary: Mapping[str, Any], focus: str | None = None
) -> WallMap:
    """The map of the county, or of the township `focus` (a township's wall shows its own)."""
    features = _features(townships)
    chosen = [f for f in features if (f.get("properties") or {}).get("code") == focus]
    if chosen:
        outline = [r for f in chosen for r in _rings(f["geometry"])]
    else:
        outline = [r for f in _features(boundary) for r in _rings(f["geometry"])]
        chosen = features
    projection = projection_for(outline)
    _, south, _, north = _bounds(outline)
    height = projection.xy(projection.west, south - (north - south) * 0.03)[1]
    drawn = tuple(
        Township(
            code=str(props.get("code", "")),
            name=str(props.get("name", "")),
            path=path_of(rings, projection),
            label=_label(rings, projection),
        )
        for f in chosen
        if (rings := _rings(f["geometry"])) and (props := f.get("properties") or {}) is not None
    )
    return WallMap(WIDTH, height, drawn, path_of(outline, projection), projection)
