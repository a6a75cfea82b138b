"""Patrol rules: check-ins within range, coverage per shift, standstill and left-area alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.patrols import (
    AlarmKind,
    CheckInPoint,
    Fix,
    PatrolRoute,
    area_alarms,
    check_ins,
    coverage,
    distance_m,
    inside,
    patrol_alarms,
    standstill_alarms,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
# About 111 m per 0.001° of latitude; 0.0003° ≈ 33 m.
A = CheckInPoint("A", "镇政府", 118.900, 31.300)
B = CheckInPoint("B", "中心小学", 118.910, 31.300)
C = CheckInPoint("C", "农贸市场", 118.920, 31.300)
ROUTE = PatrolRoute(
    "route-01",
    "320118001000",
    "淳溪街道治安巡逻线",
    (A, B, C),
    ((118.89, 31.29), (118.93, 31.29), (118.93, 31.31), (118.89, 31.31)),
)


def at(minutes: float) -> datetime:
    return T0 + minutes * MIN


def test_distance_is_in_metres() -> None:
    """0.001° of latitude is about 111 m."""
    assert distance_m(118.9, 31.3, 118.9, 31.301) == pytest.approx(111.2, abs=0.5)


def test_a_unit_checks_in_within_range_once_per_visit() -> None:
    """Within 50 m: a check-in; staying there adds none; leaving and coming back adds one."""
    fixes = [
        Fix(A.lon, A.lat + 0.0003, at(0)),  # ~33 m
        Fix(A.lon, A.lat, at(1)),
        Fix(B.lon, B.lat + 0.0006, at(5)),  # ~67 m: too far
        Fix(A.lon, A.lat + 0.002, at(8)),  # gone
        Fix(A.lon, A.lat, at(9)),  # back again
    ]
    found = check_ins(ROUTE, "patrol-01-1", fixes)
    assert [(c.point_id, c.at) for c in found] == [("A", at(0)), ("A", at(9))]
    assert found[0].distance_m == pytest.approx(33.4, abs=1)
    assert check_ins(ROUTE, "patrol-01-1", fixes, radius_m=80)[1].point_id == "B"


def test_positions_out_of_order_are_refused() -> None:
    """Time order is the caller's duty; a shuffled track is an error, not a wrong answer."""
    with pytest.raises(ValueError, match="out of time order"):
        check_ins(ROUTE, "u", [Fix(A.lon, A.lat, at(2)), Fix(A.lon, A.lat, at(1))])


def test_coverage_counts_points_checked_in_during_the_shift() -> None:
    """Two of three points inside the shift: 2/3; a check-in before it does not count."""
    fixes = [Fix(C.lon, C.lat, at(-5)), Fix(A.lon, A.lat, at(1)), Fix(B.lon, B.lat, at(30))]
    done = check_ins(ROUTE, "u", fixes)
    shift = coverage(ROUTE, done, T0, T0 + timedelta(hours=12))
    assert shift.visited == ("A", "B") and shift.missed == ("C",)
    assert shift.share == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        coverage(ROUTE, done, T0, T0)


def test_standing_still_over_the_limit_raises_one_alarm_per_stop() -> None:
    """Within 30 m for over 15 minutes: one alarm at the first fix past the limit."""
    stop = [Fix(118.905, 31.300 + 0.0001 * (i % 2), at(i)) for i in range(0, 25)]
    alarms = standstill_alarms(ROUTE, "u", stop)
    assert len(alarms) == 1
    assert (alarms[0].kind, alarms[0].since, alarms[0].at) == (
        AlarmKind.STANDING_STILL,
        at(0),
        at(16),
    )
    assert standstill_alarms(ROUTE, "u", stop[:16]) == []  # exactly 15 minutes is fine


def test_moving_on_ends_a_stop() -> None:
    """A patrol that moves more than 30 m every 10 minutes never alarms."""
    walking = [Fix(118.900 + 0.0005 * i, 31.300, at(10 * i)) for i in range(10)]
    assert standstill_alarms(ROUTE, "u", walking) == []


def test_leaving_the_area_raises_an_alarm_each_time() -> None:
    """Inside → outside alarms; staying out does not repeat; coming back and out again does."""
    fixes = [
        Fix(118.90, 31.30, at(0)),
        Fix(118.95, 31.30, at(1)),
        Fix(118.96, 31.30, at(2)),
        Fix(118.91, 31.30, at(3)),
        Fix(118.91, 31.35, at(4)),
    ]
    alarms = area_alarms(ROUTE, "u", fixes)
    assert [(a.kind, a.at) for a in alarms] == [
        (AlarmKind.LEFT_AREA, at(1)),
        (AlarmKind.LEFT_AREA, at(4)),
    ]
    both = patrol_alarms(ROUTE, "u", fixes)
    assert both == alarms


def test_point_in_polygon_on_a_concave_area() -> None:
    """An L-shaped area: the notch is outside."""
    ring = ((0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0))
    assert inside(ring, 0.5, 1.5) and inside(ring, 1.5, 0.5)
    assert not inside(ring, 1.5, 1.5)


def test_a_route_needs_points_an_area_and_unique_point_ids() -> None:
    """Bad routes are refused with the route named."""
    area = ROUTE.area
    with pytest.raises(ValueError, match="no check-in points"):
        PatrolRoute("r", "t", "n", (), area)
    with pytest.raises(ValueError, match="3 corners"):
        PatrolRoute("r", "t", "n", (A,), area[:2])
    with pytest.raises(ValueError, match="twice"):
        PatrolRoute("r", "t", "n", (A, A), area)
