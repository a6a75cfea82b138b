"""Camera sectors, cameras near a case, township coverage and the camera network sizes."""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.camera_variants import cameras_for_pack
from geo.cameras import Camera, CameraPlacement
from geo.coverage import CameraIndex
from geo.pack import load_demo_pack
from geo.projection import LocalProjection

PROJ = LocalProjection(119.0, 31.3)
# Metres -> degrees at the projection origin.
DLAT = 1 / (PROJ.ky * 1000)
DLON = 1 / (PROJ.kx * 1000)


def _camera(code: str, heading: float, fov: float = 90.0, reach: float = 100.0) -> Camera:
    return Camera(
        code, code, CameraPlacement.POINT, 119.0, 31.3, heading, fov, reach, "320118001000", True
    )


@pytest.fixture(scope="module")
def north_and_dome() -> CameraIndex:
    return CameraIndex([_camera("north", 0.0), _camera("dome", 0.0, fov=360.0, reach=60.0)], PROJ)


def _codes(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.camera.code for h in hits]


def test_camera_sees_inside_its_sector_only(north_and_dome: CameraIndex) -> None:
    """A north-facing 90° camera sees 50 m north, not south, east, or 150 m north."""
    assert _codes(north_and_dome.seeing(119.0, 31.3 + 50 * DLAT)) == ["dome", "north"]
    assert _codes(north_and_dome.seeing(119.0, 31.3 - 50 * DLAT)) == ["dome"]
    assert _codes(north_and_dome.seeing(119.0 + 50 * DLON, 31.3)) == ["dome"]
    assert _codes(north_and_dome.seeing(119.0, 31.3 + 150 * DLAT)) == []


def test_sector_edge_is_inclusive(north_and_dome: CameraIndex) -> None:
    """A point 44° off axis is seen; 46° off axis is not."""
    for angle, seen in ((44.0, True), (46.0, False)):
        rad = np.radians(angle)
        lon = 119.0 + 80 * np.sin(rad) * DLON
        lat = 31.3 + 80 * np.cos(rad) * DLAT
        assert ("north" in _codes(north_and_dome.seeing(lon, lat))) is seen


def test_offline_cameras_do_not_count(north_and_dome: CameraIndex) -> None:
    """With an online set, cameras outside it are ignored."""
    point = (119.0, 31.3 + 30 * DLAT)
    assert _codes(north_and_dome.seeing(*point, online={"north"})) == ["north"]
    assert _codes(north_and_dome.near(*point, online=set())) == []


def test_near_lists_cameras_within_radius_nearest_first() -> None:
    """Cameras within the radius, nearest first, with distances in metres."""
    demo = load_demo_pack()
    index = CameraIndex.from_pack(demo)
    hits = index.near(118.8747, 31.3246, radius_m=300)
    assert hits and all(h.distance_m <= 300 for h in hits)
    assert [h.distance_m for h in hits] == sorted(h.distance_m for h in hits)


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(118.86, 118.90),
    lat=st.floats(31.31, 31.34),
)
def test_batch_coverage_agrees_with_single_queries(lon: float, lat: float) -> None:
    """covered() for a cloud of points equals asking seeing() for each point."""
    index = CameraIndex.from_pack(load_demo_pack())
    rng = np.random.default_rng(int(lon * 1e6) ^ int(lat * 1e6))
    lons = lon + rng.uniform(-0.003, 0.003, 40)
    lats = lat + rng.uniform(-0.003, 0.003, 40)
    online = {c.code for c in index.cameras[::2]}
    batch = index.covered(lons, lats, online)
    single = [bool(index.seeing(x, y, online)) for x, y in zip(lons, lats, strict=True)]
    assert batch.tolist() == single


def test_township_coverage_falls_when_cameras_go_offline() -> None:
    """Coverage shares are in [0, 1] and drop when half the cameras are offline."""
    pack = load_demo_pack()
    index = CameraIndex.from_pack(pack)
    full = index.township_coverage(pack)
    half = index.township_coverage(pack, {c.code for c in pack.cameras[::2]})
    assert full[0].township_name == "淳溪街道"
    assert sum(c.cameras_total for c in full) == len(pack.cameras)
    for a, b in zip(full, half, strict=True):
        assert 0 < b.road_share < a.road_share <= 1
        assert b.places_covered <= a.places_covered == a.places_total
        assert b.cameras_online < a.cameras_online == a.cameras_total
    none = index.township_coverage(pack, set())
    assert all(c.road_share == 0 and c.places_covered == 0 for c in none)


def test_demo_pack_has_about_5000_cameras_in_the_point_line_area_pattern() -> None:
    """~5,000 cameras with 20-digit GB/T 28181 ids, mostly area, then line, then point."""
    cameras = load_demo_pack().cameras
    assert 4900 <= len(cameras) <= 5100
    assert all(re.fullmatch(r"32011800\d{12}", c.code) for c in cameras)
    counts = collections.Counter(c.placement for c in cameras)
    assert (
        counts[CameraPlacement.AREA] > counts[CameraPlacement.LINE] > counts[CameraPlacement.POINT]
    )


def test_large_variant_is_deterministic_and_sized() -> None:
    """The 20,000-camera benchmark network has the size asked for and is repeatable."""
    pack = load_demo_pack()
    first = cameras_for_pack(pack, 20_000)
    assert 19_800 <= len(first) <= 20_000
    assert cameras_for_pack(pack, 20_000)[:50] == first[:50]
    assert len({c.code for c in first}) == len(first)
