"""A division's outline as a short closed ring of (lat, lon) pairs, for CAP warning polygons."""

from __future__ import annotations

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.pack import CountyPack

# CAP receivers (sirens, cell broadcast) handle short polygons best; 0.0005° ≈ 50 m.
DEFAULT_MAX_POINTS = 100
_FIRST_TOLERANCE_DEG = 0.0005


def outline_ring(
    geometry: BaseGeometry, max_points: int = DEFAULT_MAX_POINTS
) -> tuple[tuple[float, float], ...]:
    """The exterior of the largest polygon, simplified to at most `max_points`, first = last."""
    if max_points < 4:
        raise ValueError("a ring needs at least four points")
    polygons = list(geometry.geoms) if isinstance(geometry, MultiPolygon) else [geometry]
    shapes = [p for p in polygons if isinstance(p, Polygon) and not p.is_empty]
    if not shapes:
        return ()
    shape: Polygon = max(shapes, key=lambda p: p.area)
    tolerance = _FIRST_TOLERANCE_DEG
    simplified = shape
    # Coarser until short enough; preserve_topology keeps the ring valid (no self-crossing).
    while len(simplified.exterior.coords) > max_points:
        simplified = shape.simplify(tolerance, preserve_topology=True)
        tolerance *= 2
    return tuple((round(lat, 5), round(lon, 5)) for lon, lat in simplified.exterior.coords)


def township_ring(
    pack: CountyPack, township_code: str | None, max_points: int = DEFAULT_MAX_POINTS
) -> tuple[tuple[float, float], ...]:
    """The outline of a township of the pack as (lat, lon) pairs; () if the code is unknown."""
    for township in pack.townships:
        if township.code == township_code:
            return outline_ring(township.geometry, max_points)
    return ()
