"""Simulated units: driving on roads at road speeds, rosters, the task round trip."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, time, timedelta

import numpy as np
import pytest

from geo.pack import load_demo_pack
from geo.routing import DEFAULT_SPEEDS_KMH, Router
from realtime.sim_places import distance_m
from realtime.sim_reports import CHINA
from realtime.sim_roads import Drive, RoadGraph
from realtime.sim_units import (
    ALWAYS,
    DAY,
    NIGHT,
    OFFICE,
    TRAVEL_MODE,
    FleetUnit,
    PositionOut,
    Shift,
    SimUnit,
    Task,
    TaskOut,
    TaskStep,
    UnitState,
    build_units,
    default_fleet,
    on_duty,
    start_point,
    township_nodes,
    township_of,
)

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA)
STEP_S = 20.0


@pytest.fixture(scope="module")
def roads() -> RoadGraph:
    return RoadGraph(load_demo_pack().roads)


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.from_pack(load_demo_pack())


def run(units: list[SimUnit], start: datetime, steps: int) -> list[tuple[datetime, object]]:
    out: list[tuple[datetime, object]] = []
    now = start
    for _ in range(steps):
        now += timedelta(seconds=STEP_S)
        for unit in units:
            out += [(now, o) for o in unit.step(now, STEP_S)]
    return out


def test_every_position_lies_on_a_road_and_speeds_are_those_of_the_roads(
    roads: RoadGraph, router: Router
) -> None:
    """Two hours of the default fleet: every fix within 3 m of a road, no jump too fast."""
    pack = load_demo_pack()
    nodes = township_nodes(pack, roads)
    units = build_units(default_fleet(pack, roads, nodes, seed=4), roads, nodes, seed=4)
    fixes = [o for _, o in run(units, MORNING, 360) if isinstance(o, PositionOut)]
    assert len({f.unit_id for f in fixes}) > 40
    snap = router.snap(np.array([f.fix.lon for f in fixes]), np.array([f.fix.lat for f in fixes]))
    assert float(snap.off_km.max()) * 1000 < 3.0
    last: dict[str, PositionOut] = {}
    type_of = {u.unit.unit_id: u.unit.unit_type for u in units}
    fastest = {mode: max(table.values()) for mode, table in DEFAULT_SPEEDS_KMH.items()}
    moving = 0
    for fix in fixes:
        before = last.get(fix.unit_id)
        if before is not None:
            seconds = (fix.sim_at - before.sim_at).total_seconds()
            kmh = distance_m(before.fix.lon, before.fix.lat, fix.fix.lon, fix.fix.lat) / seconds
            kmh *= 3.6
            mode = TRAVEL_MODE[type_of[fix.unit_id]]
            assert kmh <= fastest[mode] * 1.01
            moving += kmh > 1
        last[fix.unit_id] = fix
    assert moving > 1000  # they do drive, not stand still


def test_a_drive_covers_its_route_at_the_road_speed(roads: RoadGraph) -> None:
    """A car covers its first road at that road's speed and reaches the end of its route."""
    legs = roads.route(0, 100, TRAVEL_MODE["patrol_car"])
    drive = Drive(legs, roads.nodes[0])
    total = drive.remaining_m
    fix = drive.advance(1)
    assert fix.speed_kmh == legs[0].speed_kmh
    assert total - drive.remaining_m == pytest.approx(legs[0].speed_kmh / 3.6)
    drive.advance(10 * 3600)
    assert drive.arrived and drive.remaining_m == 0
    end = legs[-1].end
    assert (drive.advance(1).lon, drive.advance(1).lat) == (round(end[0], 6), round(end[1], 6))


def test_rosters() -> None:
    """Day, night and office shifts in local time; emergency teams always on."""
    assert on_duty((DAY,), MORNING) and not on_duty((NIGHT,), MORNING)
    assert on_duty((NIGHT,), MORNING.replace(hour=23))
    assert not on_duty((OFFICE,), MORNING.replace(hour=8, minute=0))
    assert on_duty((OFFICE,), MORNING.replace(hour=8, minute=30))
    assert on_duty((ALWAYS,), MORNING.replace(hour=3))
    assert on_duty((DAY, NIGHT), MORNING.replace(hour=3)) and not on_duty((), MORNING)
    # A real roster's shift maps one to one.
    assert Shift(time(22), time(6)).covers(MORNING.replace(hour=5))


def test_an_off_duty_unit_sends_nothing_and_starts_at_its_shift(roads: RoadGraph) -> None:
    """A night patrol at 09:00 stays silent; at 20:00 it starts reporting its position."""
    unit = FleetUnit("car-x", "patrol_car", "320118001000", *roads.nodes[3], (NIGHT,))
    sim = SimUnit(unit, roads, [3, 4, 5], random.Random(1))
    assert run([sim], MORNING, 30) == []
    assert sim.state is UnitState.OFF_DUTY
    evening = run([sim], MORNING.replace(hour=20), 30)
    assert any(isinstance(o, PositionOut) for _, o in evening)


def test_a_dispatched_unit_acks_drives_arrives_reports_and_returns(roads: RoadGraph) -> None:
    """Ack, arrival, progress, completion in that order; arrival near the case; then home."""
    base = roads.nodes[0]
    unit = FleetUnit("fire-1", "fire_engine", "320118001000", *base, (ALWAYS,))
    sim = SimUnit(unit, roads, [], random.Random(2))
    target = roads.nodes[60]
    sim.assign(Task(7, target[0] + 0.001, target[1], "fire"))
    sim.assign(Task(7, target[0] + 0.001, target[1], "fire"))  # the same task again: once
    out = run([sim], MORNING, 1000)
    steps = [(t, o) for t, o in out if isinstance(o, TaskOut)]
    assert [(o.step, o.completed) for _, o in steps] == [
        (TaskStep.ACK, False),
        (TaskStep.ARRIVAL, False),
        (TaskStep.FEEDBACK, False),
        (TaskStep.FEEDBACK, True),
    ]
    arrived_at = steps[1][0]
    at_arrival = next(o for t, o in out if isinstance(o, PositionOut) and t == arrived_at)
    assert distance_m(at_arrival.fix.lon, at_arrival.fix.lat, *target) < 1
    trip_s = (arrived_at - steps[0][0]).total_seconds()
    assert trip_s > 60  # it drove there, it did not jump
    on_scene_s = (steps[3][0] - arrived_at).total_seconds()
    assert 10 * 60 < on_scene_s < 4 * 3600
    assert sim.answered == [7]
    assert sim.state is UnitState.AT_BASE
    assert distance_m(sim.position.lon, sim.position.lat, *base) < 1


def test_the_default_fleet_has_every_type_and_unique_ids(roads: RoadGraph) -> None:
    """All ten unit types, one id each, the same fleet from the same seed."""
    pack = load_demo_pack()
    fleet = default_fleet(pack, roads, township_nodes(pack, roads), seed=1)
    assert {u.unit_type for u in fleet} == set(TRAVEL_MODE)
    assert len({u.unit_id for u in fleet}) == len(fleet)
    assert fleet == default_fleet(pack, roads, township_nodes(pack, roads), seed=1)


def test_a_unit_with_a_patrol_route_visits_its_check_in_points_in_order(roads: RoadGraph) -> None:
    """Given check-in points, the patrol drives to each in turn, and round again."""
    points = tuple(roads.nodes[n] for n in (10, 20, 30))
    unit = FleetUnit(
        "car-r", "police_patrol_car", "320118001000", *roads.nodes[10], (ALWAYS,), points
    )
    sim = SimUnit(unit, roads, [], random.Random(3))
    visited: list[tuple[float, float]] = []
    now = MORNING
    for _ in range(4000):
        now += timedelta(seconds=STEP_S)
        sim.step(now, STEP_S)
        here = (sim.position.lon, sim.position.lat)
        for point in points:
            if distance_m(*here, *point) < 1 and (not visited or visited[-1] != point):
                visited.append(point)
    assert len(visited) >= 5
    order = [points.index(p) for p in visited]
    assert all((b - a) % 3 == 1 for a, b in itertools.pairwise(order))


def test_units_of_villages_patrol_their_township_and_start_at_its_seat() -> None:
    """A village or grid code belongs to its township; a unit starts at the township seat."""
    pack = load_demo_pack()
    assert township_of("320118101203") == "320118101000"
    assert township_of("320118101203-G02") == "320118101000"
    assert township_of("320118") == "320118"
    seat = next(
        p for p in pack.places if p.kind == "government" and p.township_code.endswith("101000")
    )
    assert start_point(pack, "320118101203") == (seat.lon, seat.lat)
