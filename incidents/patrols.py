"""Patrols (治安巡逻): routes of ordered check-in points, check-ins from positions, alarms.

All functions take a unit's positions in time order and never read the clock. A unit checks
in at a point when a position comes within range of it, once per visit (it has to leave the
range before it can check in there again). Two alarms: standing still too long (every
position for the limit within a small radius) and leaving the route's area.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from incidents.vocabulary import Moment

CHECK_IN_RADIUS_M = 50.0
STANDSTILL_RADIUS_M = 30.0
STANDSTILL_LIMIT = timedelta(minutes=15)
_EARTH_RADIUS_M = 6_371_008.8


class CheckInPoint(msgspec.Struct, frozen=True):
    """A place on the route where the patrol must show up (a key place, a village centre)."""

    point_id: str
    name: str
    lon: float
    lat: float


class PatrolRoute(msgspec.Struct, frozen=True):
    """A township's patrol route: check-in points in order and the area it must stay in."""

    route_id: str
    township_code: str
    name: str
    points: tuple[CheckInPoint, ...]
    area: tuple[tuple[float, float], ...]  # the area's outer ring (lon, lat), first ≠ last ok

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError(f"patrol route {self.route_id} has no check-in points")
        if len(self.area) < 3:
            raise ValueError(f"patrol route {self.route_id}: its area needs at least 3 corners")
        ids = [p.point_id for p in self.points]
        if len(set(ids)) != len(ids):
            raise ValueError(f"patrol route {self.route_id} names a check-in point twice")


class Fix(msgspec.Struct, frozen=True):
    """One position of a unit."""

    lon: float
    lat: float
    at: Moment


class CheckIn(msgspec.Struct, frozen=True):
    """A unit seen within range of a check-in point."""

    route_id: str
    point_id: str
    unit_id: str
    at: Moment
    distance_m: float


class AlarmKind(StrEnum):
    """What is wrong with a patrol."""

    STANDING_STILL = "standing_still"
    LEFT_AREA = "left_area"


class PatrolAlarm(msgspec.Struct, frozen=True):
    """A patrol alarm: which unit, what, where and since when (no personal data)."""

    route_id: str
    unit_id: str
    kind: AlarmKind
    at: Moment  # when the alarm is raised
    since: Moment  # when the condition began
    lon: float
    lat: float


class Coverage(msgspec.Struct, frozen=True):
    """How much of a route was checked in during a shift."""

    route_id: str
    visited: tuple[str, ...]  # point ids, in route order
    missed: tuple[str, ...]
    share: float  # visited / all points, 0..1


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def inside(ring: Sequence[tuple[float, float]], lon: float, lat: float) -> bool:
    """Is the point inside the polygon ring (even-odd rule)?"""
    result = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            result = not result
    return result


def _in_order(fixes: Sequence[Fix]) -> None:
    for earlier, later in itertools.pairwise(fixes):
        if later.at < earlier.at:
            raise ValueError(f"positions out of time order at {later.at.isoformat()}")


def check_ins(
    route: PatrolRoute, unit_id: str, fixes: Sequence[Fix], radius_m: float = CHECK_IN_RADIUS_M
) -> list[CheckIn]:
    """Every visit of the unit to a check-in point, in time order (one per entry into range)."""
    _in_order(fixes)
    found: list[CheckIn] = []
    near: set[str] = set()
    for fix in fixes:
        for point in route.points:
            d = distance_m(fix.lon, fix.lat, point.lon, point.lat)
            if d <= radius_m:
                if point.point_id not in near:
                    near.add(point.point_id)
                    found.append(CheckIn(route.route_id, point.point_id, unit_id, fix.at, d))
            else:
                near.discard(point.point_id)
    return found


def coverage(
    route: PatrolRoute, done: Sequence[CheckIn], shift_start: datetime, shift_end: datetime
) -> Coverage:
    """The share of the route's points checked in at least once in [shift_start, shift_end)."""
    if shift_end <= shift_start:
        raise ValueError("a shift ends after it starts")
    seen = {
        c.point_id for c in done if c.route_id == route.route_id and shift_start <= c.at < shift_end
    }
    visited = tuple(p.point_id for p in route.points if p.point_id in seen)
    missed = tuple(p.point_id for p in route.points if p.point_id not in seen)
    return Coverage(route.route_id, visited, missed, len(visited) / len(route.points))


def standstill_alarms(
    route: PatrolRoute,
    unit_id: str,
    fixes: Sequence[Fix],
    *,
    limit: timedelta = STANDSTILL_LIMIT,
    radius_m: float = STANDSTILL_RADIUS_M,
) -> list[PatrolAlarm]:
    """An alarm each time the unit stays within `radius_m` of one spot for longer than `limit`.

    The spot is where it stopped; one alarm per stop, raised at the first position past the
    limit. Moving out of the radius ends the stop.
    """
    _in_order(fixes)
    alarms: list[PatrolAlarm] = []
    anchor: Fix | None = None
    raised = False
    for fix in fixes:
        if anchor is None or distance_m(anchor.lon, anchor.lat, fix.lon, fix.lat) > radius_m:
            anchor, raised = fix, False
            continue
        if not raised and fix.at - anchor.at > limit:
            raised = True
            alarms.append(
                PatrolAlarm(
                    route.route_id,
                    unit_id,
                    AlarmKind.STANDING_STILL,
                    fix.at,
                    anchor.at,
                    anchor.lon,
                    anchor.lat,
                )
            )
    return alarms


def area_alarms(route: PatrolRoute, unit_id: str, fixes: Sequence[Fix]) -> list[PatrolAlarm]:
    """An alarm each time the unit goes from inside the route's area to outside it."""
    _in_order(fixes)
    alarms: list[PatrolAlarm] = []
    was_inside = True  # a patrol that starts outside its area is already out of it
    for fix in fixes:
        now_inside = inside(route.area, fix.lon, fix.lat)
        if was_inside and not now_inside:
            alarms.append(
                PatrolAlarm(
                    route.route_id, unit_id, AlarmKind.LEFT_AREA, fix.at, fix.at, fix.lon, fix.lat
                )
            )
        was_inside = now_inside
    return alarms


def patrol_alarms(
    route: PatrolRoute,
    unit_id: str,
    fixes: Sequence[Fix],
    *,
    limit: timedelta = STANDSTILL_LIMIT,
    radius_m: float = STANDSTILL_RADIUS_M,
) -> list[PatrolAlarm]:
    """Both kinds of alarm, in the order they were raised."""
    both = standstill_alarms(route, unit_id, fixes, limit=limit, radius_m=radius_m)
    both += area_alarms(route, unit_id, fixes)
    return sorted(both, key=lambda alarm: alarm.at)
