"""WGS-84 <-> GCJ-02 conversion at the display edge."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo.gcj02 import gcj02_to_wgs84, outside_china, wgs84_to_gcj02
from geo.pack import demo_pack_path, load_demo_pack


def test_published_forward_pair() -> None:
    """Tian'anmen (116.404, 39.915) WGS-84 -> the widely published GCJ-02 value."""
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat == pytest.approx(39.91640428150164, abs=1e-12)


def test_inverse_is_near_the_published_one_step_value() -> None:
    """Our iterative inverse is within 0.1 m of the common one-step result, and exact."""
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    assert lon == pytest.approx(116.39775550083061, abs=1e-6)
    assert lat == pytest.approx(39.91359571849836, abs=1e-6)
    back = wgs84_to_gcj02(lon, lat)
    assert back == pytest.approx((116.404, 39.915), abs=1e-9)


def test_gaochun_offset_matches_the_measured_one() -> None:
    """At Gaochun's centroid the shift is about +0.00506° lon, -0.00212° lat."""
    centre = load_demo_pack().boundary.centroid
    lon, lat = wgs84_to_gcj02(centre.x, centre.y)
    assert lon - centre.x == pytest.approx(0.00506, abs=0.0002)
    assert lat - centre.y == pytest.approx(-0.00212, abs=0.0002)


def test_converted_boundary_matches_the_raw_gcj02_boundary() -> None:
    """The WGS-84 district boundary moved to GCJ-02 lies on Amap's raw GCJ-02 outline."""
    raw = json.loads(
        (demo_pack_path() / "source/boundary-gcj02/320118.geojson").read_text(encoding="utf-8")
    )
    gcj_raw = shapely.geometry.shape(raw)
    wgs = load_demo_pack().boundary
    converted = shapely.transform(
        wgs, lambda xy: [wgs84_to_gcj02(float(x), float(y)) for x, y in xy]
    )
    raw_vertices = shapely.points(shapely.get_coordinates(gcj_raw))
    before = shapely.distance(raw_vertices, wgs.boundary)
    after = shapely.distance(raw_vertices, converted.boundary)
    # Unconverted, the outlines are ~300 m apart (median); converted, most raw vertices lie
    # on the converted outline (the WGS-84 copy is only more coarsely digitised).
    assert float(np.median(before)) > 0.002
    assert float(np.median(after)) < 0.00005
    assert converted.symmetric_difference(gcj_raw).area / gcj_raw.area < 0.01


def test_outside_china_is_unchanged() -> None:
    """Points outside China carry no offset in either direction."""
    assert outside_china(2.35, 48.85)
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)


@given(lon=st.floats(73.0, 135.0), lat=st.floats(18.0, 53.0))
def test_round_trip_is_sub_millimetre(lon: float, lat: float) -> None:
    """gcj02_to_wgs84 inverts wgs84_to_gcj02 to 1e-9° anywhere in China."""
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert back == pytest.approx((lon, lat), abs=1e-9)
