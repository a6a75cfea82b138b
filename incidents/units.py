"""Forces (处置力量): unit types, a unit's status with every milestone stamped, and duty rosters.

Every rule is a pure function from a unit's state to a new state plus the `StatusChange` that
records it (who, when, why, which case); nothing here reads the clock. The rules:
- only an available unit is dispatched, unless the dispatcher overrides with a reason, and
  the override records the status it overrode (a busy unit is never silently reset);
- a unit moves along its task (en route, on scene, returning) by its own reports;
- a unit becomes available again only by its own report or a recorded decision (actor and
  reason); going off or on duty by the roster is a recorded change too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum

import msgspec

from geo.recommend import Capability, UnitPosition
from geo.routing import TravelMode
from incidents.reports import CHINA_TZ
from incidents.vocabulary import Moment

SYSTEM_ROSTER = "system:roster"


class UnitType(StrEnum):
    """The kinds of force a county centre commands."""

    PATROL_CAR = "patrol_car"  # 巡逻警车
    FOOT_PATROL = "foot_patrol"  # 步巡组
    JOINT_DEFENCE = "joint_defence"  # 联防队
    MEDIATOR = "mediator"  # 调解员
    GRID_WORKER = "grid_worker"  # 网格员
    SOCIAL_WORKER = "social_worker"  # 综治社工
    FIRE_ENGINE = "fire_engine"  # 消防车
    AMBULANCE = "ambulance"  # 救护车
    HAZMAT_TEAM = "hazmat_team"  # 危化品处置队
    RESCUE_TEAM = "rescue_team"  # 应急救援队


# The forces that walk or drive a patrol route (治安巡逻) while they have no task.
PATROL_TYPES = frozenset({UnitType.PATROL_CAR, UnitType.FOOT_PATROL, UnitType.JOINT_DEFENCE})


class UnitTypeSpec(msgspec.Struct, frozen=True):
    """What a unit of a type can do by default, how it moves and how many it carries."""

    capabilities: frozenset[Capability]
    mode: TravelMode
    crew_size: int
    label_zh: str


UNIT_TYPES: Mapping[UnitType, UnitTypeSpec] = {
    UnitType.PATROL_CAR: UnitTypeSpec(
        frozenset({Capability.POLICE, Capability.TRAFFIC}), TravelMode.CAR, 2, "巡逻警车"
    ),
    UnitType.FOOT_PATROL: UnitTypeSpec(
        frozenset({Capability.POLICE}), TravelMode.FOOT, 2, "步巡组"
    ),
    UnitType.JOINT_DEFENCE: UnitTypeSpec(
        frozenset({Capability.POLICE, Capability.GRID}), TravelMode.EBIKE, 4, "联防队"
    ),
    UnitType.MEDIATOR: UnitTypeSpec(
        frozenset({Capability.MEDIATION}), TravelMode.EBIKE, 1, "调解员"
    ),
    UnitType.GRID_WORKER: UnitTypeSpec(
        frozenset({Capability.GRID, Capability.SOCIAL_WORK}), TravelMode.EBIKE, 1, "网格员"
    ),
    UnitType.SOCIAL_WORKER: UnitTypeSpec(
        frozenset({Capability.SOCIAL_WORK, Capability.MEDIATION}), TravelMode.EBIKE, 1, "综治社工"
    ),
    UnitType.FIRE_ENGINE: UnitTypeSpec(
        frozenset({Capability.FIRE, Capability.RESCUE}), TravelMode.CAR, 6, "消防车"
    ),
    UnitType.AMBULANCE: UnitTypeSpec(frozenset({Capability.MEDICAL}), TravelMode.CAR, 3, "救护车"),
    UnitType.HAZMAT_TEAM: UnitTypeSpec(
        frozenset({Capability.HAZMAT, Capability.SAFETY_INSPECTION, Capability.RESCUE}),
        TravelMode.CAR,
        8,
        "危化品处置队",
    ),
    UnitType.RESCUE_TEAM: UnitTypeSpec(
        frozenset({Capability.RESCUE, Capability.MEDICAL}), TravelMode.CAR, 10, "应急救援队"
    ),
}


class Unit(msgspec.Struct, frozen=True):
    """A dispatchable force: its identity, home jurisdiction and what it can do."""

    unit_id: str
    call_sign: str  # 呼号, what the radio calls it
    type: UnitType
    home_code: str  # the jurisdiction (township, village or county) it belongs to
    capabilities: frozenset[Capability]
    crew_size: int
    name: str

    @property
    def mode(self) -> TravelMode:
        """How it moves (from its type)."""
        return UNIT_TYPES[self.type].mode


def make_unit(unit_id: str, call_sign: str, unit_type: UnitType, home_code: str, name: str) -> Unit:
    """A unit with its type's default capabilities and crew size."""
    spec = UNIT_TYPES[unit_type]
    return Unit(unit_id, call_sign, unit_type, home_code, spec.capabilities, spec.crew_size, name)


class UnitStatus(StrEnum):
    """Where a unit is with its work."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    BUSY = "busy"
    OFF_DUTY = "off_duty"


class ChangeCause(StrEnum):
    """Why a unit's status changed: the unit said so, someone decided, a dispatch, the roster."""

    DISPATCH = "dispatch"
    OWN_REPORT = "own_report"
    DECISION = "decision"
    ROSTER = "roster"


class UnitState(msgspec.Struct, frozen=True):
    """A unit's current status, its task, and when it last reached each milestone."""

    unit_id: str
    status: UnitStatus
    since: Moment
    version: int = 1
    case_id: int | None = None
    dispatched_at: Moment | None = None
    en_route_at: Moment | None = None
    on_scene_at: Moment | None = None
    returning_at: Moment | None = None
    available_at: Moment | None = None
    busy_at: Moment | None = None
    off_duty_at: Moment | None = None


class StatusChange(msgspec.Struct, frozen=True):
    """One recorded status change: the unit event's content (no personal data)."""

    unit_id: str
    before: UnitStatus
    after: UnitStatus
    at: Moment
    actor: str
    cause: ChangeCause
    version: int
    case_id: int | None = None
    reason: str | None = None
    overridden: bool = False  # a dispatch of a unit that was not available
    recommendation_rank: int | None = None


class IllegalUnitMove(ValueError):
    """A status change the rules forbid; the message says which rule."""

    def __init__(self, state: UnitState, wanted: UnitStatus, why: str) -> None:
        super().__init__(f"unit {state.unit_id} is {state.status.value}: cannot {why}")
        self.state = state
        self.wanted = wanted


class UnitNotAvailable(IllegalUnitMove):
    """Dispatching a unit that is not available without an override reason."""


_STAMP = {
    UnitStatus.AVAILABLE: "available_at",
    UnitStatus.DISPATCHED: "dispatched_at",
    UnitStatus.EN_ROUTE: "en_route_at",
    UnitStatus.ON_SCENE: "on_scene_at",
    UnitStatus.RETURNING: "returning_at",
    UnitStatus.BUSY: "busy_at",
    UnitStatus.OFF_DUTY: "off_duty_at",
}

# What a unit may report about itself, from where. Available needs the task to be over.
OWN_REPORTS: Mapping[UnitStatus, frozenset[UnitStatus]] = {
    UnitStatus.EN_ROUTE: frozenset({UnitStatus.DISPATCHED}),
    UnitStatus.ON_SCENE: frozenset({UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE}),
    UnitStatus.RETURNING: frozenset({UnitStatus.ON_SCENE}),
    UnitStatus.AVAILABLE: frozenset({UnitStatus.RETURNING, UnitStatus.BUSY}),
    UnitStatus.BUSY: frozenset({UnitStatus.AVAILABLE}),
}
_TASK_DONE = frozenset({UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY, UnitStatus.BUSY})


def initial_state(
    unit_id: str, at: datetime, status: UnitStatus = UnitStatus.AVAILABLE
) -> UnitState:
    """A new unit's first state."""
    return msgspec.structs.replace(UnitState(unit_id, status, at), **{_STAMP[status]: at})


def _move(
    state: UnitState,
    after: UnitStatus,
    at: datetime,
    actor: str,
    cause: ChangeCause,
    *,
    case_id: int | None,
    reason: str | None = None,
    overridden: bool = False,
    rank: int | None = None,
) -> tuple[UnitState, StatusChange]:
    if at < state.since:
        raise IllegalUnitMove(
            state, after, f"change status at {at.isoformat()}, before its last change"
        )
    new_state = msgspec.structs.replace(
        state,
        status=after,
        since=at,
        version=state.version + 1,
        case_id=None if after in _TASK_DONE else case_id,
        **{_STAMP[after]: at},
    )
    change = StatusChange(
        state.unit_id,
        state.status,
        after,
        at,
        actor,
        cause,
        new_state.version,
        case_id,
        reason,
        overridden,
        rank,
    )
    return new_state, change


def _required(reason: str | None) -> str | None:
    return reason.strip() if reason and reason.strip() else None


def dispatch(
    state: UnitState,
    case_id: int,
    at: datetime,
    actor: str,
    *,
    recommendation_rank: int | None = None,
    override_reason: str | None = None,
) -> tuple[UnitState, StatusChange]:
    """Send the unit to a case; a unit not available needs `override_reason` (recorded)."""
    if recommendation_rank is not None and recommendation_rank < 1:
        raise ValueError(f"recommendation rank starts at 1, got {recommendation_rank}")
    reason = _required(override_reason)
    overridden = state.status is not UnitStatus.AVAILABLE
    if overridden and reason is None:
        raise UnitNotAvailable(
            state, UnitStatus.DISPATCHED, "be dispatched without an override reason"
        )
    return _move(
        state,
        UnitStatus.DISPATCHED,
        at,
        actor,
        ChangeCause.DISPATCH,
        case_id=case_id,
        reason=reason,
        overridden=overridden,
        rank=recommendation_rank,
    )


def report(
    state: UnitState, status: UnitStatus, at: datetime, actor: str, *, case_id: int | None = None
) -> tuple[UnitState, StatusChange]:
    """The unit's own report of its status (en route, on scene, returning, available, busy)."""
    allowed = OWN_REPORTS.get(status)
    if allowed is None:
        raise IllegalUnitMove(state, status, f"report itself {status.value}")
    if state.status not in allowed:
        raise IllegalUnitMove(state, status, f"report itself {status.value} from here")
    if case_id is not None and state.case_id is not None and case_id != state.case_id:
        raise IllegalUnitMove(
            state, status, f"report on case #{case_id}: its task is case #{state.case_id}"
        )
    task = state.case_id if state.case_id is not None else case_id
    return _move(state, status, at, actor, ChangeCause.OWN_REPORT, case_id=task)


def decide(
    state: UnitState, status: UnitStatus, at: datetime, actor: str, reason: str | None
) -> tuple[UnitState, StatusChange]:
    """A commander sets the status (e.g. releases the unit); the reason is required."""
    why = _required(reason)
    if why is None:
        raise IllegalUnitMove(state, status, f"be set {status.value} without a reason")
    if status is UnitStatus.DISPATCHED:
        raise IllegalUnitMove(state, status, "be set dispatched: dispatch it to a case")
    if status is state.status:
        raise IllegalUnitMove(state, status, f"be set {status.value}: it already is")
    return _move(state, status, at, actor, ChangeCause.DECISION, case_id=state.case_id, reason=why)


class TaskReport(StrEnum):
    """What a unit's terminal says about its task, as case commands."""

    ACKNOWLEDGED = "acknowledged"
    ARRIVED = "arrived"
    COMPLETED = "completed"


_TASK_STATUS = {
    TaskReport.ACKNOWLEDGED: UnitStatus.EN_ROUTE,
    TaskReport.ARRIVED: UnitStatus.ON_SCENE,
    TaskReport.COMPLETED: UnitStatus.RETURNING,
}


def on_task_report(
    state: UnitState, what: TaskReport, case_id: int, at: datetime, actor: str
) -> tuple[UnitState, StatusChange] | None:
    """The unit's status after a report on its task; None when it does not move the unit.

    A report on a case that is not the unit's current task, or one that would move it
    backwards (arrival after it already reported leaving), leaves the status as it is.
    """
    wanted = _TASK_STATUS[what]
    if state.case_id != case_id or state.status not in OWN_REPORTS[wanted]:
        return None
    return report(state, wanted, at, actor, case_id=case_id)


def stand_down(
    state: UnitState, case_id: int, at: datetime, actor: str, reason: str | None
) -> tuple[UnitState, StatusChange] | None:
    """撤回: the commander releases the unit from this case; it heads back (a decision).

    None when the case is not the unit's current task or it has already left the scene.
    """
    active = (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE)
    if state.case_id != case_id or state.status not in active:
        return None
    return decide(state, UnitStatus.RETURNING, at, actor, reason)


class Shift(msgspec.Struct, frozen=True):
    """A daily shift in China time; one that ends at or before its start runs past midnight."""

    name: str
    starts: time
    ends: time

    def covers(self, at: datetime) -> bool:
        """Is `at` (any time zone) inside this shift?"""
        local = at.astimezone(CHINA_TZ).time().replace(tzinfo=None)
        if self.starts < self.ends:
            return self.starts <= local < self.ends
        return local >= self.starts or local < self.ends

    def started(self, at: datetime) -> datetime:
        """When the occurrence of this shift that covers `at` began (UTC-aware)."""
        local = at.astimezone(CHINA_TZ)
        start = local.replace(
            hour=self.starts.hour, minute=self.starts.minute, second=0, microsecond=0
        )
        return start if start <= local else start - timedelta(days=1)


DAY_SHIFT = Shift("day", time(8), time(20))
NIGHT_SHIFT = Shift("night", time(20), time(8))


class Roster(msgspec.Struct, frozen=True):
    """A unit's duty roster: the shifts it works (none: never rostered on)."""

    unit_id: str
    shifts: tuple[Shift, ...]


def on_duty(roster: Roster, at: datetime) -> bool:
    """Is the unit rostered on at `at`?"""
    return any(shift.covers(at) for shift in roster.shifts)


def apply_roster(
    state: UnitState, roster: Roster, at: datetime
) -> tuple[UnitState, StatusChange] | None:
    """Take the unit off or on duty as its roster says; None when nothing changes.

    Only an idle unit changes: one on a task (or busy) finishes it and goes off duty when it
    reports available, at the next roster pass.
    """
    if roster.unit_id != state.unit_id:
        raise ValueError(f"roster of {roster.unit_id} applied to unit {state.unit_id}")
    due = on_duty(roster, at)
    if state.status is UnitStatus.AVAILABLE and not due:
        after = UnitStatus.OFF_DUTY
    elif state.status is UnitStatus.OFF_DUTY and due:
        after = UnitStatus.AVAILABLE
    else:
        return None
    return _move(state, after, at, SYSTEM_ROSTER, ChangeCause.ROSTER, case_id=None, reason="roster")


class UnitRecord(msgspec.Struct, frozen=True):
    """A unit with its status and township, as the store reads it for screens and ranking."""

    unit: Unit
    township_code: str | None
    status: UnitStatus
    since: Moment


def recommendation_inputs(
    units: Sequence[UnitRecord], fixes: Mapping[str, tuple[float, float, datetime]]
) -> list[UnitPosition]:
    """Units with a known position (unit id → lon, lat, seen at) as recommendation ranks them.

    A unit without a position cannot be ranked by road time and is left out; one that is
    not available is passed with its status so the ranking can flag it.
    """
    out = []
    for record in units:
        fix = fixes.get(record.unit.unit_id)
        if fix is None:
            continue
        lon, lat, seen_at = fix
        unit = record.unit
        out.append(
            UnitPosition(
                unit.unit_id,
                unit.name,
                unit.mode,
                unit.capabilities,
                lon,
                lat,
                seen_at,
                available=record.status is UnitStatus.AVAILABLE,
                township_code=record.township_code,
                status=record.status.value,
            )
        )
    return out
