"""Simulated units: a fleet with rosters, patrols along roads, and the task round trip.

A unit is a small state machine stepped by simulated seconds. It answers what it would
send (positions, task messages, grid discoveries) and never does I/O itself; the runner
turns its outputs into stream entries and terminal messages.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from shapely.geometry import Point

from geo.pack import CountyPack
from geo.routing import TravelMode
from realtime.sim_reports import CHINA
from realtime.sim_roads import Drive, Fix, RoadGraph

# The persisted fleet's unit types (incidents.units.UnitType), and how each one moves.
TRAVEL_MODE: Mapping[str, TravelMode] = {
    "patrol_car": TravelMode.CAR,
    "foot_patrol": TravelMode.FOOT,
    "joint_defence": TravelMode.EBIKE,
    "mediator": TravelMode.EBIKE,
    "grid_worker": TravelMode.EBIKE,
    "social_worker": TravelMode.EBIKE,
    "fire_engine": TravelMode.CAR,
    "ambulance": TravelMode.CAR,
    "hazmat_team": TravelMode.CAR,
    "rescue_team": TravelMode.CAR,
}
# Types that patrol their township while on duty; the others wait at their base.
PATROLLING_TYPES = frozenset({"patrol_car", "foot_patrol", "joint_defence", "grid_worker"})
# Other spellings of the same types that callers may use.
TYPE_ALIASES: Mapping[str, str] = {
    "police_patrol_car": "patrol_car",
    "joint_defence_team": "joint_defence",
}


@dataclass(frozen=True, slots=True)
class Shift:
    """A daily duty window in China time; one that ends at or before its start runs past midnight.

    The same rule as the persisted rosters (`incidents.units.Shift`), so a real roster maps
    one to one: `Shift(shift.starts, shift.ends)`.
    """

    starts: time
    ends: time

    def covers(self, at: datetime) -> bool:
        """Whether a moment falls in this shift."""
        local = at.astimezone(CHINA).time().replace(tzinfo=None)
        if self.starts < self.ends:
            return self.starts <= local < self.ends
        return local >= self.starts or local < self.ends


DAY = Shift(time(8), time(20))
NIGHT = Shift(time(20), time(8))
OFFICE = Shift(time(8, 30), time(17, 30))
ALWAYS = Shift(time(0), time(0))  # fire, ambulance and emergency teams stand by all day


def on_duty(shifts: Sequence[Shift], at: datetime) -> bool:
    """Whether a roster (its shifts; none: never on) is working at a moment."""
    return any(shift.covers(at) for shift in shifts)


@dataclass(frozen=True, slots=True)
class FleetUnit:
    """One unit as the simulator gets it: id, type, home jurisdiction, base point, roster.

    `home_township` may be a township, village or county code (the unit patrols the
    township it lies in; a county unit anywhere).
    """

    unit_id: str
    unit_type: str
    home_township: str
    start_lon: float
    start_lat: float
    shifts: tuple[Shift, ...] = (ALWAYS,)
    # A patrol route's check-in points (lon, lat), visited in order and round again; empty:
    # junctions of the home township at random.
    patrol_route: tuple[tuple[float, float], ...] = ()


class UnitState(StrEnum):
    """What a simulated unit is doing."""

    OFF_DUTY = "off_duty"
    AT_BASE = "at_base"
    PATROLLING = "patrolling"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"


class TaskStep(StrEnum):
    """The task messages a terminal sends, in order."""

    ACK = "ack"
    ARRIVAL = "arrival"
    FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class Task:
    """A dispatched task as the terminal learned it."""

    case_id: int
    lon: float
    lat: float
    category: str


@dataclass(frozen=True, slots=True)
class PositionOut:
    """A position to put on the positions stream."""

    unit_id: str
    fix: Fix
    sim_at: datetime


@dataclass(frozen=True, slots=True)
class TaskOut:
    """A task message to send on the unit's terminal."""

    unit_id: str
    step: TaskStep
    case_id: int
    text: str = ""
    completed: bool = False


@dataclass(frozen=True, slots=True)
class DiscoveryOut:
    """A grid worker found something to report (channel grid) where they stand."""

    unit_id: str
    lon: float
    lat: float
    sim_at: datetime


UnitOutput = PositionOut | TaskOut | DiscoveryOut

# Minutes on scene by category: (median, spread as a lognormal sigma).
_ON_SCENE_MIN: Mapping[str, tuple[float, float]] = {
    "dispute": (35, 0.5),
    "public_security": (25, 0.5),
    "traffic": (30, 0.4),
    "fire": (45, 0.4),
    "safety_production": (40, 0.5),
    "emergency": (40, 0.5),
    "mass_incident": (60, 0.4),
    "public_service": (20, 0.5),
    "special_population": (30, 0.5),
    "petition": (30, 0.5),
}
_PROGRESS = ("已到场，正在了解情况", "现场秩序平稳，正在处置", "已联系相关当事人，正在协调")
_DONE = {
    "dispute": "经调解双方达成一致，纠纷已化解",
    "public_security": "现场已处置，相关人员已带离询问",
    "traffic": "事故车辆已移至路边，道路恢复通行",
    "fire": "明火已扑灭，无人员伤亡",
    "safety_production": "隐患已责令整改，现场已封控",
    "emergency": "伤病员已送医，现场已处置",
    "mass_incident": "聚集人员已劝离，现场秩序恢复",
    "public_service": "已通知责任单位，问题已处理",
}
ACK_DELAY_S = (20.0, 90.0)  # the crew reads the task before it acknowledges
PARKED_FIX_EVERY_S = 120.0  # a parked unit still reports where it is, less often
DISCOVERIES_PER_DUTY_HOUR = 0.25  # a grid worker's finds on the round


class SimUnit:
    """One unit's behaviour: roster, patrol, and answering its tasks in order."""

    def __init__(
        self,
        unit: FleetUnit,
        roads: RoadGraph,
        patrol_nodes: Sequence[int],
        rng: random.Random,
        on_scene_scale: float = 1.0,
    ) -> None:
        """`patrol_nodes`: junctions of its home township; `rng`: the unit's own.

        `on_scene_scale` shortens (or stretches) time on scene, for tests of the round trip.
        """
        self.unit = unit
        self._on_scene_scale = on_scene_scale
        self._roads = roads
        self._type = TYPE_ALIASES.get(unit.unit_type, unit.unit_type)
        self._mode = TRAVEL_MODE.get(self._type, TravelMode.CAR)
        self._patrol_nodes = list(patrol_nodes) or list(range(len(roads.nodes)))
        self._route_nodes = [roads.nearest_node(lon, lat) for lon, lat in unit.patrol_route]
        self._route_next = 0
        self._rng = rng
        self._base = roads.nearest_node(unit.start_lon, unit.start_lat)
        self._drive = Drive([], roads.nodes[self._base])
        self._fix = Fix(*roads.nodes[self._base], heading=0.0, speed_kmh=0.0)
        self.state = UnitState.OFF_DUTY
        self._tasks: deque[Task] = deque()
        self._known: set[int] = set()
        self._current: Task | None = None
        self._wait_s = 0.0  # until the next ack, feedback or patrol leg
        self._since_fix_s = math.inf
        self._progress_sent = False
        self.answered: list[int] = []

    @property
    def mode(self) -> TravelMode:
        """How this unit moves."""
        return self._mode

    @property
    def position(self) -> Fix:
        """Where the unit is now."""
        return self._fix

    def assign(self, task: Task) -> None:
        """A task arrived on the terminal (repeats of a known case are ignored)."""
        if task.case_id not in self._known:
            self._known.add(task.case_id)
            self._tasks.append(task)

    def step(self, now: datetime, seconds: float) -> list[UnitOutput]:
        """Advance `seconds` of simulated time ending at `now`; say what the unit sends."""
        out: list[UnitOutput] = []
        moved = self._move(now, seconds, out)
        self._since_fix_s += seconds
        if self.state is not UnitState.OFF_DUTY and (
            moved or self._since_fix_s >= PARKED_FIX_EVERY_S
        ):
            out.append(PositionOut(self.unit.unit_id, self._fix, now))
            self._since_fix_s = 0.0
        return out

    def _move(self, now: datetime, seconds: float, out: list[UnitOutput]) -> bool:
        working = on_duty(self.unit.shifts, now)
        if self._current is None and self._tasks:
            self._current = self._tasks.popleft()
            self._wait_s = self._rng.uniform(*ACK_DELAY_S)
            self.state = UnitState.EN_ROUTE
            self._drive = Drive([], (self._fix.lon, self._fix.lat))
            self._progress_sent = False
        match self.state:
            case UnitState.EN_ROUTE:
                return self._respond(seconds, out)
            case UnitState.ON_SCENE:
                self._on_scene(seconds, out)
                return False
            case UnitState.PATROLLING:
                return self._patrol(now, seconds, working, out)
            case UnitState.RETURNING:
                moving = self._drive_on(seconds)
                if self._drive.arrived:
                    self.state = UnitState.AT_BASE if working else UnitState.OFF_DUTY
                    self._wait_s = self._rng.uniform(60, 600)
                return moving
            case UnitState.OFF_DUTY | UnitState.AT_BASE:
                self.state = UnitState.AT_BASE if working else UnitState.OFF_DUTY
                if working and self._type in PATROLLING_TYPES:
                    self._wait_s -= seconds
                    if self._wait_s <= 0:
                        self._start_patrol_leg()
                return False
        return False

    def _respond(self, seconds: float, out: list[UnitOutput]) -> bool:
        task = self._current
        assert task is not None
        if self._wait_s > 0:  # not yet acknowledged
            self._wait_s -= seconds
            if self._wait_s > 0:
                return False
            out.append(TaskOut(self.unit.unit_id, TaskStep.ACK, task.case_id))
            here = self._roads.nearest_node(self._fix.lon, self._fix.lat)
            goal = self._roads.nearest_node(task.lon, task.lat)
            self._drive = Drive(self._roads.route(here, goal, self._mode), self._roads.nodes[here])
            seconds = -self._wait_s
            self._wait_s = 0.0
        moving = self._drive_on(seconds)
        if self._drive.arrived:
            out.append(TaskOut(self.unit.unit_id, TaskStep.ARRIVAL, task.case_id))
            self.state = UnitState.ON_SCENE
            median, sigma = _ON_SCENE_MIN.get(task.category, (30.0, 0.5))
            minutes = median * math.exp(self._rng.gauss(0, sigma)) * self._on_scene_scale
            self._wait_s = 60 * minutes
        return moving

    def _on_scene(self, seconds: float, out: list[UnitOutput]) -> None:
        task = self._current
        assert task is not None
        self._wait_s -= seconds
        if not self._progress_sent:
            text = self._rng.choice(_PROGRESS)
            out.append(TaskOut(self.unit.unit_id, TaskStep.FEEDBACK, task.case_id, text))
            self._progress_sent = True
        if self._wait_s <= 0:
            text = _DONE.get(task.category, "现场已处置完毕")
            out.append(TaskOut(self.unit.unit_id, TaskStep.FEEDBACK, task.case_id, text, True))
            self.answered.append(task.case_id)
            self._current = None
            self._go_back()

    def _go_back(self) -> None:
        here = self._roads.nearest_node(self._fix.lon, self._fix.lat)
        legs = self._roads.route(here, self._base, self._mode)
        self._drive = Drive(legs, self._roads.nodes[here])
        self.state = UnitState.RETURNING

    def _drive_on(self, seconds: float) -> bool:
        if self._drive.arrived:
            return False
        self._fix = self._drive.advance(seconds)
        return True

    def _patrol(self, now: datetime, seconds: float, working: bool, out: list[UnitOutput]) -> bool:
        if not working:
            self._go_back()  # end of the shift: home first
            return False
        if self._drive.arrived:  # a check-in stop at the patrol point
            self._wait_s -= seconds
            if self._wait_s <= 0:
                self._start_patrol_leg()
            return False
        moving = self._drive_on(seconds)
        self._maybe_discover(now, seconds, out)
        if self._drive.arrived:
            self._wait_s = self._rng.uniform(60, 300)
        return moving

    def _start_patrol_leg(self) -> None:
        here = self._roads.nearest_node(self._fix.lon, self._fix.lat)
        if self._route_nodes:
            goal = self._route_nodes[self._route_next % len(self._route_nodes)]
            self._route_next += 1
        else:
            goal = self._rng.choice(self._patrol_nodes)
        self._drive = Drive(self._roads.route(here, goal, self._mode), self._roads.nodes[here])
        self.state = UnitState.PATROLLING

    def _maybe_discover(self, now: datetime, seconds: float, out: list[UnitOutput]) -> None:
        if self._type != "grid_worker":
            return
        if self._rng.random() < DISCOVERIES_PER_DUTY_HOUR * seconds / 3600:
            out.append(DiscoveryOut(self.unit.unit_id, self._fix.lon, self._fix.lat, now))


def township_of(code: str) -> str:
    """The township code of a township, village or grid code (a county code stays as it is)."""
    return f"{code[:9]}000" if len(code) >= 12 else code


def start_point(pack: CountyPack, home_code: str) -> tuple[float, float]:
    """Where a unit of a jurisdiction starts: its township's seat, else the county seat."""
    township = township_of(home_code)
    seats = {p.township_code: (p.lon, p.lat) for p in pack.places if p.kind == "government"}
    if township in seats:
        return seats[township]
    return seats.get(pack.townships[0].code) or (
        pack.boundary.representative_point().x,
        pack.boundary.representative_point().y,
    )


def township_nodes(pack: CountyPack, roads: RoadGraph) -> dict[str, list[int]]:
    """The road junctions inside each township."""
    out: dict[str, list[int]] = {t.code: [] for t in pack.townships}
    for n, (lon, lat) in enumerate(roads.nodes):
        for township in pack.townships:
            if township.geometry.covers(Point(lon, lat)):
                out[township.code].append(n)
                break
    return out


# Per township: (type, how many, shift pattern). Patrol shifts alternate day and night.
_PER_TOWNSHIP: Sequence[tuple[str, int, Sequence[Shift]]] = (
    ("patrol_car", 4, (DAY, NIGHT)),
    ("foot_patrol", 2, (DAY, NIGHT)),
    ("joint_defence", 1, (NIGHT,)),
    ("mediator", 1, (OFFICE,)),
    ("grid_worker", 3, (OFFICE,)),
    ("social_worker", 1, (OFFICE,)),
)
_COUNTY_WIDE: Sequence[tuple[str, int]] = (
    ("fire_engine", 3),
    ("ambulance", 3),
    ("hazmat_team", 1),
    ("rescue_team", 1),
)
_SHORT = {
    "patrol_car": "car",
    "foot_patrol": "foot",
    "joint_defence": "jdt",
    "mediator": "med",
    "grid_worker": "grid",
    "social_worker": "soc",
    "fire_engine": "fire",
    "ambulance": "amb",
    "hazmat_team": "hazmat",
    "rescue_team": "rescue",
}


def default_fleet(
    pack: CountyPack, roads: RoadGraph, nodes_by_township: Mapping[str, Sequence[int]], seed: int
) -> tuple[FleetUnit, ...]:
    """A seeded fleet for standalone runs: township forces plus county emergency teams."""
    rng = random.Random(f"fleet:{seed}")
    fleet: list[FleetUnit] = []
    seat_of = {p.township_code: (p.lon, p.lat) for p in pack.places if p.kind == "government"}
    for township in pack.townships:
        nodes = list(nodes_by_township.get(township.code, ())) or [0]
        seat = seat_of.get(township.code)
        for unit_type, count, shifts in _PER_TOWNSHIP:
            for n in range(1, count + 1):
                # Crews start at the township seat (the police station sits by it) or,
                # for grid workers, somewhere in their villages.
                if unit_type == "grid_worker" or seat is None:
                    lon, lat = roads.nodes[rng.choice(nodes)]
                else:
                    lon, lat = seat
                fleet.append(
                    FleetUnit(
                        f"{_SHORT[unit_type]}-{township.code[6:9]}-{n}",
                        unit_type,
                        township.code,
                        lon,
                        lat,
                        (shifts[(n - 1) % len(shifts)],),
                    )
                )
    county_seat = seat_of.get(pack.townships[0].code, roads.nodes[0])
    for unit_type, count in _COUNTY_WIDE:
        for n in range(1, count + 1):
            fleet.append(
                FleetUnit(
                    f"{_SHORT[unit_type]}-{n}",
                    unit_type,
                    pack.townships[0].code,
                    county_seat[0],
                    county_seat[1],
                    (ALWAYS,),
                )
            )
    return tuple(fleet)


def build_units(
    fleet: Sequence[FleetUnit],
    roads: RoadGraph,
    nodes_by_township: Mapping[str, Sequence[int]],
    seed: int,
    on_scene_scale: float = 1.0,
) -> list[SimUnit]:
    """A simulated unit per fleet entry, each with a random stream of its own from the seed."""
    return [
        SimUnit(
            unit,
            roads,
            nodes_by_township.get(township_of(unit.home_township), ()),
            random.Random(f"unit:{seed}:{unit.unit_id}"),
            on_scene_scale,
        )
        for unit in fleet
    ]
