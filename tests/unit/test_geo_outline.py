"""Division outlines as short closed (lat, lon) rings for CAP polygons."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from geo.outline import outline_ring, township_ring
from geo.pack import load_demo_pack


def test_a_ring_is_lat_lon_closed_and_no_longer_than_asked() -> None:
    """A 400-point circle comes back as at most 40 (lat, lon) points, first equal to last."""
    circle = Point(118.9, 31.3).buffer(0.05, quad_segs=100)
    ring = outline_ring(circle, max_points=40)
    assert 4 <= len(ring) <= 40 and ring[0] == ring[-1]
    assert all(31.2 < lat < 31.4 and 118.8 < lon < 119.0 for lat, lon in ring)
    # Still the same shape: every point within 0.1 km-ish of the true circle's edge.
    for lat, lon in ring:
        assert math.isclose(math.hypot(lon - 118.9, lat - 31.3), 0.05, abs_tol=0.003)


def test_a_multipolygon_gives_its_largest_part() -> None:
    """An island beside the mainland: the warning goes to the mainland's outline."""
    big = Polygon([(0, 0), (0, 2), (2, 2), (2, 0)])
    small = Polygon([(5, 5), (5, 5.1), (5.1, 5.1), (5.1, 5)])
    ring = outline_ring(MultiPolygon([small, big]))
    assert {lon for _, lon in ring} == {0.0, 2.0}


def test_too_few_points_are_refused_and_unknown_townships_give_nothing() -> None:
    """A ring under four points is not a polygon; an unknown code has no outline."""
    with pytest.raises(ValueError, match="four points"):
        outline_ring(Point(0, 0).buffer(1), max_points=3)
    assert township_ring(load_demo_pack(), "999999999999") == ()
