"""Road graph travel times by mode, snapping, and unit recommendation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from geo.pack import load_demo_pack
from geo.projection import LocalProjection
from geo.recommend import Capability, UnitPosition, reason_zh, recommend
from geo.roads import Road, RoadClass
from geo.routing import OFF_ROAD_DETOUR, Router, TravelMode

PROJ = LocalProjection(119.0, 31.3)
NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def _road(code: str, road_class: RoadClass, *coords: tuple[float, float]) -> Road:
    return Road(code, code, road_class, LineString(coords), synthetic=True)


@pytest.fixture(scope="module")
def triangle() -> Router:
    """A slow direct village road A-B and a fast arterial detour A-C-B."""
    a, b, c = (119.0, 31.3), (119.1, 31.3), (119.05, 31.33)
    return Router(
        [
            _road("AB", RoadClass.VILLAGE, a, b),
            _road("AC", RoadClass.ARTERIAL, a, c),
            _road("CB", RoadClass.ARTERIAL, c, b),
        ],
        PROJ,
    )


@pytest.fixture(scope="module")
def demo_router() -> Router:
    return Router.from_pack(load_demo_pack())


def _km(p: tuple[float, float], q: tuple[float, float]) -> float:
    return float(((p[0] - q[0]) * PROJ.kx) ** 2 + ((p[1] - q[1]) * PROJ.ky) ** 2) ** 0.5


def test_time_on_one_road_is_length_over_speed(triangle: Router) -> None:
    """Between two points on the village road, a walker takes length / 5 km/h."""
    trip = triangle.trip(119.02, 31.3, 119.03, 31.3, TravelMode.FOOT)
    length = _km((119.02, 31.3), (119.03, 31.3))
    assert trip.road_km == pytest.approx(length, rel=1e-6)
    assert trip.off_road_km == pytest.approx(0.0, abs=1e-9)
    assert trip.seconds == pytest.approx(length / 5 * 3600, rel=1e-6)


def test_car_takes_the_fast_detour_and_walker_the_short_road(triangle: Router) -> None:
    """Cars prefer the arterial detour; walkers, at one speed everywhere, the shorter road."""
    car = triangle.trip(119.0, 31.3, 119.1, 31.3, TravelMode.CAR)
    foot = triangle.trip(119.0, 31.3, 119.1, 31.3, TravelMode.FOOT)
    detour = _km((119.0, 31.3), (119.05, 31.33)) + _km((119.05, 31.33), (119.1, 31.3))
    direct = _km((119.0, 31.3), (119.1, 31.3))
    assert car.road_km == pytest.approx(detour, rel=1e-6)
    assert car.seconds == pytest.approx(detour / 60 * 3600, rel=1e-6)
    assert foot.road_km == pytest.approx(direct, rel=1e-6)


def test_points_off_the_road_add_an_off_road_leg(triangle: Router) -> None:
    """A point 1.1 km south of the road walks ~1.1 km x detour to reach it."""
    off = 0.01  # degrees of latitude
    trip = triangle.trip(119.02, 31.3 - off, 119.08, 31.3, TravelMode.CAR)
    assert trip.off_road_km == pytest.approx(off * PROJ.ky * OFF_ROAD_DETOUR, rel=1e-6)


def test_nearby_points_go_straight_across(triangle: Router) -> None:
    """Two points 100 m apart, both far from roads, are not routed via a road."""
    trip = triangle.trip(119.05, 31.25, 119.051, 31.25, TravelMode.FOOT)
    assert trip.road_km == 0.0
    assert trip.seconds < 120


def test_modes_are_ordered_by_speed_on_the_demo_graph(demo_router: Router) -> None:
    """From 高淳老街 to 桠溪: car < e-bike < foot, and a car takes 15-45 minutes."""
    old_street, yaxi = (118.8747, 31.3246), (119.1014, 31.3921)
    times = {m: demo_router.trip(*old_street, *yaxi, m).seconds for m in TravelMode}
    assert times[TravelMode.CAR] < times[TravelMode.EBIKE] < times[TravelMode.FOOT]
    assert 15 * 60 < times[TravelMode.CAR] < 45 * 60


@settings(max_examples=60, deadline=None)
@given(
    a=st.tuples(st.floats(118.75, 119.15), st.floats(31.27, 31.42)),
    b=st.tuples(st.floats(118.75, 119.15), st.floats(31.27, 31.42)),
)
def test_travel_time_is_symmetric(
    demo_router: Router, a: tuple[float, float], b: tuple[float, float]
) -> None:
    """Roads are two-way: a->b takes as long as b->a."""
    there = demo_router.trip(*a, *b, TravelMode.CAR).seconds
    back = demo_router.trip(*b, *a, TravelMode.CAR).seconds
    assert there == pytest.approx(back, rel=1e-9)


def _unit(
    unit_id: str,
    lon: float,
    lat: float,
    *,
    caps: frozenset[Capability] = frozenset({Capability.POLICE}),
    mode: TravelMode = TravelMode.CAR,
    age: timedelta = timedelta(minutes=1),
    available: bool = True,
    township: str | None = "320118001000",
) -> UnitPosition:
    return UnitPosition(
        unit_id, f"单位{unit_id}", mode, caps, lon, lat, NOW - age, available, township
    )


def test_nearest_capable_available_units_first(triangle: Router) -> None:
    """Closest first; the fire engine and the off-duty car are left out of a police case."""
    units = [
        _unit("far", 119.09, 31.3),
        _unit("near", 119.03, 31.3),
        _unit("fire", 119.021, 31.3, caps=frozenset({Capability.FIRE})),
        _unit("busy", 119.02, 31.3, available=False),
    ]
    picks = recommend(triangle, 119.02, 31.3, units, NOW, category="public_security")
    assert [p.unit_id for p in picks] == ["near", "far"]
    assert picks[0].eta_s < picks[1].eta_s


def test_units_not_available_can_be_ranked_last_and_flagged(triangle: Router) -> None:
    """Asked for, a busy unit comes after every available one (even stale ones) and says so."""
    busy = UnitPosition(
        "busy",
        "单位busy",
        TravelMode.CAR,
        frozenset({Capability.POLICE}),
        119.02,
        31.3,
        NOW,
        available=False,
        status="on_scene",
    )
    units = [
        busy,
        _unit("stale", 119.09, 31.3, age=timedelta(minutes=30)),
        _unit("far", 119.08, 31.3),
    ]
    picks = recommend(triangle, 119.02, 31.3, units, NOW, include_unavailable=True)
    assert [p.unit_id for p in picks] == ["far", "stale", "busy"]
    assert [p.available for p in picks] == [True, True, False]
    assert "非空闲（on_scene）" in picks[2].reason and "非空闲" not in picks[0].reason


def test_own_township_preferred_when_nearly_as_fast(triangle: Router) -> None:
    """A same-township unit a minute slower beats an outsider; ten minutes slower does not."""
    case = (119.05, 31.3)
    outsider = _unit("outsider", 119.055, 31.3, township="320118002000")
    insider = _unit("insider", 119.065, 31.3)
    picks = recommend(triangle, *case, [outsider, insider], NOW, case_township_code="320118001000")
    assert [p.unit_id for p in picks] == ["insider", "outsider"]
    assert picks[0].same_township and not picks[1].same_township
    far_insider = _unit("far_insider", 119.0, 31.3)
    picks = recommend(
        triangle, *case, [outsider, far_insider], NOW, case_township_code="320118001000", k=1
    )
    assert [p.unit_id for p in picks] == ["outsider"]


def test_stale_positions_are_ranked_down_and_say_so(triangle: Router) -> None:
    """A unit unseen for 12 minutes comes after fresh ones, even when it looks closer."""
    units = [_unit("stale", 119.02, 31.3, age=timedelta(minutes=12)), _unit("fresh", 119.08, 31.3)]
    picks = recommend(triangle, 119.02, 31.3, units, NOW, stale_after=timedelta(minutes=5))
    assert [p.unit_id for p in picks] == ["fresh", "stale"]
    assert picks[1].stale and "位置已 12 分钟未更新" in picks[1].reason


def test_reason_reads_distance_time_and_jurisdiction() -> None:
    """The reason line is '3.2 公里，约 6 分钟，同乡镇'."""
    assert reason_zh(3.24, 361, True, None) == "3.2 公里，约 6 分钟，同乡镇"
    assert reason_zh(0.2, 10, False, None) == "0.2 公里，约 1 分钟，跨乡镇"
    assert reason_zh(1.0, 60, None, None) == "1.0 公里，约 1 分钟"


def test_ties_break_by_unit_id_and_k_limits(triangle: Router) -> None:
    """Units at one spot rank by id; k caps the list; nothing eligible gives []."""
    units = [_unit(u, 119.03, 31.3) for u in ("c", "a", "b")]
    assert [p.unit_id for p in recommend(triangle, 119.02, 31.3, units, NOW, k=2)] == ["a", "b"]
    assert recommend(triangle, 119.02, 31.3, units, NOW, category="fire") == []


def test_walkers_rank_below_cars_over_distance(demo_router: Router) -> None:
    """Over several km, a car beats a grid worker on foot from the same spot."""
    caps = frozenset({Capability.POLICE, Capability.GRID})
    units = [
        _unit("walker", 118.95, 31.35, caps=caps, mode=TravelMode.FOOT),
        _unit("car", 118.95, 31.35, caps=caps),
    ]
    picks = recommend(demo_router, 118.8747, 31.3246, units, NOW)
    assert [p.unit_id for p in picks] == ["car", "walker"]
