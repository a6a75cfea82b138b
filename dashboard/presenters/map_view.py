"""Where the map looks first: the viewer's township, or the whole county."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Bounds = tuple[tuple[float, float], tuple[float, float]]  # (south, west), (north, east)
TOWNSHIP_CODE_LENGTH = 9  # a township's code is its first nine digits, then zeros


def _points(coordinates: Any) -> Iterable[tuple[float, float]]:
    """Every (lon, lat) of a GeoJSON geometry's nested coordinate lists."""
    if coordinates and isinstance(coordinates[0], int | float):
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates:
        yield from _points(part)


def township_of(jurisdiction: str) -> str | None:
    """The township a jurisdiction lies in (itself or above a village / grid); None: county."""
    digits = jurisdiction[:TOWNSHIP_CODE_LENGTH]
    if len(digits) < TOWNSHIP_CODE_LENGTH or digits[6:] == "000":
        return None
    return digits.ljust(12, "0")


def view_bounds(townships: Mapping[str, Any], county: Bounds, jurisdiction: str | None) -> Bounds:
    """The bounds to fit: the polygon of the viewer's township, else the county's."""
    code = township_of(jurisdiction or "")
    if code is None:
        return county
    for feature in townships.get("features", []):
        if (feature.get("properties") or {}).get("code") != code:
            continue
        points = list(_points((feature.get("geometry") or {}).get("coordinates") or []))
        if points:
            lons = [p[0] for p in points]
            lats = [p[1] for p in points]
            return (min(lats), min(lons)), (max(lats), max(lons))
    return county
