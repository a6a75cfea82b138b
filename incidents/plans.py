"""Executing an emergency plan (启动预案) on a case: proposal, checklist, level, closure. Pure.

A plan is proposed when a case matches its triggers: the case's level is one the plan lists,
and either its category is one of the plan's or its summary contains one of the plan's
keywords. Activating it makes a checklist: each action becomes a step due `time_limit_min`
after activation. A step is pending, done or overdue; overdue is computed from the `now`
passed in, and a step done after its deadline stays marked late. Raising or lowering the
level is recorded and keeps every deadline. Closing needs a summary and ends all changes.

Every transition returns the new activation and the events it caused, or raises
`IllegalPlanMove` and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from incidents.case import Case
from incidents.plan_events import (
    ActivatedStep,
    Envelope,
    PlanActivated,
    PlanClosed,
    PlanEvent,
    PlanLevelChanged,
    PlanProposed,
    PlanStepDone,
    PlanStepOverdue,
)
from incidents.plan_library import Plan, PlanLibrary
from incidents.vocabulary import Moment, Severity


class StepState(StrEnum):
    """Where one checklist step stands."""

    PENDING = "pending"
    DONE = "done"
    OVERDUE = "overdue"


class PlanStatus(StrEnum):
    """Whether an activated plan is still running."""

    ACTIVE = "active"
    CLOSED = "closed"


class IllegalPlanMove(ValueError):
    """A transition the plan's state does not allow; the message says which and why."""


class PlanStep(msgspec.Struct, frozen=True, gc=False):
    """One checklist step of an activation, with its deadline and who ticked it when."""

    step_no: int  # from 1, in the plan's order
    title: str
    role: str
    due_at: Moment
    done_at: Moment | None = None
    done_by: str | None = None
    overdue_recorded: bool = False  # the miss has been announced (once)

    def state(self, now: datetime) -> StepState:
        """Done once ticked; else overdue from its deadline on; else pending."""
        if self.done_at is not None:
            return StepState.DONE
        return StepState.OVERDUE if now >= self.due_at else StepState.PENDING

    @property
    def late(self) -> bool:
        """Done after its deadline (stays true once done)."""
        return self.done_at is not None and self.done_at > self.due_at


class LevelChange(msgspec.Struct, frozen=True, gc=False):
    """One recorded raising or lowering of the response level."""

    from_level: Severity
    to_level: Severity
    by: str
    at: Moment
    reason: str


class PlanActivation(msgspec.Struct, frozen=True, gc=False):
    """A plan activated on a case: the plan as it was then, its checklist and its history."""

    activation_id: int
    plan: Plan
    case_id: int
    case_no: str
    township_code: str | None
    level: Severity
    activated_by: str
    activated_at: Moment
    steps: tuple[PlanStep, ...]
    level_changes: tuple[LevelChange, ...] = ()
    status: PlanStatus = PlanStatus.ACTIVE
    closed_by: str | None = None
    closed_at: Moment | None = None
    summary: str | None = None
    version: int = 1

    @property
    def is_active(self) -> bool:
        """Still running (not closed)."""
        return self.status is PlanStatus.ACTIVE

    def step(self, step_no: int) -> PlanStep:
        """The step numbered `step_no`; IllegalPlanMove if there is none."""
        if not 1 <= step_no <= len(self.steps):
            raise IllegalPlanMove(
                f"plan activation {self.activation_id} has steps 1-{len(self.steps)}, not {step_no}"
            )
        return self.steps[step_no - 1]


class ForceRequest(msgspec.Struct, frozen=True, gc=False):
    """Units a plan asks for: a unit type and a count, for the recommendation engine to fill."""

    unit_type: str
    count: int


def triggers(plan: Plan, case: Case) -> bool:
    """Whether `case` matches `plan`: its level, and its category or a keyword of its summary."""
    if case.severity not in plan.levels:
        return False
    return case.category in plan.categories or any(k in case.summary for k in plan.keywords)


def proposed_plans(library: PlanLibrary, case: Case) -> tuple[Plan, ...]:
    """The plans an open case matches, in library order (none for a closed case)."""
    if not case.is_open:
        return ()
    return tuple(plan for plan in library.values() if triggers(plan, case))


def proposal_events(case: Case, plans: tuple[Plan, ...], *, now: datetime) -> list[PlanEvent]:
    """One `plan.proposed` event per plan (the store writes only those not proposed before)."""
    _aware(now)
    return [
        PlanProposed(
            at=now,
            actor="system:plans",
            case_id=case.case_id,
            case_no=case.case_no,
            township_code=case.jurisdiction.township_code,
            plan_id=plan.plan_id,
            plan_name=plan.name,
            level=case.severity,
        )
        for plan in plans
    ]


def activate(
    plan: Plan,
    case: Case,
    *,
    activation_id: int,
    by: str,
    now: datetime,
    level: Severity | None = None,
) -> tuple[PlanActivation, list[PlanEvent]]:
    """启动预案: the checklist with each step due its time limit after `now`."""
    _aware(now)
    if not case.is_open:
        raise IllegalPlanMove(f"case {case.case_no} is {case.status.value}: no plan can start")
    chosen = case.severity if level is None else Severity(level)
    steps = tuple(
        PlanStep(
            step_no=n,
            title=action.title,
            role=action.role.value,
            due_at=now + timedelta(minutes=action.time_limit_min),
        )
        for n, action in enumerate(plan.actions, start=1)
    )
    activation = PlanActivation(
        activation_id=activation_id,
        plan=plan,
        case_id=case.case_id,
        case_no=case.case_no,
        township_code=case.jurisdiction.township_code,
        level=chosen,
        activated_by=by,
        activated_at=now,
        steps=steps,
    )
    event = PlanActivated(
        **_envelope(activation, by, now),
        plan_name=plan.name,
        level=chosen,
        steps=tuple(ActivatedStep(s.step_no, s.title, s.role, s.due_at) for s in steps),
        forces=tuple((f.unit_type, f.count) for f in plan.forces),
    )
    return activation, [event]


def tick_step(
    activation: PlanActivation, step_no: int, *, by: str, now: datetime
) -> tuple[PlanActivation, list[PlanEvent]]:
    """Mark a step done by `by` at `now`; a step done after its deadline is recorded as late."""
    _aware(now)
    _running(activation, f"tick step {step_no}")
    step = activation.step(step_no)
    if step.done_at is not None:
        raise IllegalPlanMove(
            f"step {step_no} of plan activation {activation.activation_id} was already done"
            f" by {step.done_by} at {step.done_at.isoformat()}"
        )
    done = msgspec.structs.replace(step, done_at=now, done_by=by)
    after = _with_step(activation, done)
    event = PlanStepDone(
        **_envelope(after, by, now), step_no=step_no, due_at=step.due_at, late=done.late
    )
    return after, [event]


def record_overdue(
    activation: PlanActivation, now: datetime
) -> tuple[PlanActivation, list[PlanEvent]]:
    """Announce, once each, the steps that went overdue by `now` (none for a closed plan)."""
    _aware(now)
    if not activation.is_active:
        return activation, []
    after = activation
    events: list[PlanEvent] = []
    for step in activation.steps:
        if step.state(now) is StepState.OVERDUE and not step.overdue_recorded:
            after = _with_step(after, msgspec.structs.replace(step, overdue_recorded=True))
            events.append(
                PlanStepOverdue(
                    **_envelope(after, "system:plan-deadlines", now),
                    step_no=step.step_no,
                    due_at=step.due_at,
                    overdue_by=now - step.due_at,
                )
            )
    return after, events


def change_level(
    activation: PlanActivation, to_level: Severity, *, by: str, now: datetime, reason: str
) -> tuple[PlanActivation, list[PlanEvent]]:
    """Raise or lower the response level (recorded with why); every deadline stays."""
    _aware(now)
    _running(activation, "change its level")
    target = Severity(to_level)
    if target is activation.level:
        raise IllegalPlanMove(
            f"plan activation {activation.activation_id} is already at level {target.name}"
        )
    if not reason.strip():
        raise IllegalPlanMove("a level change needs a reason")
    change = LevelChange(activation.level, target, by, now, reason.strip())
    after = msgspec.structs.replace(
        activation,
        level=target,
        level_changes=(*activation.level_changes, change),
        version=activation.version + 1,
    )
    event = PlanLevelChanged(
        **_envelope(after, by, now), from_level=activation.level, to_level=target
    )
    return after, [event]


def close(
    activation: PlanActivation, *, by: str, now: datetime, summary: str
) -> tuple[PlanActivation, list[PlanEvent]]:
    """Close the plan with a summary; open steps stay as they are (pending or overdue)."""
    _aware(now)
    _running(activation, "close it")
    if not summary.strip():
        raise IllegalPlanMove("closing a plan needs a summary")
    after = msgspec.structs.replace(
        activation,
        status=PlanStatus.CLOSED,
        closed_by=by,
        closed_at=now,
        summary=summary.strip(),
        version=activation.version + 1,
    )
    states = [step.state(now) for step in activation.steps]
    event = PlanClosed(
        **_envelope(after, by, now),
        steps_done=states.count(StepState.DONE),
        steps_late=sum(1 for step in activation.steps if step.late),
        steps_open=len(states) - states.count(StepState.DONE),
    )
    return after, [event]


def step_states(activation: PlanActivation, now: datetime) -> tuple[StepState, ...]:
    """Each step's state at `now`, in order."""
    _aware(now)
    return tuple(step.state(now) for step in activation.steps)


class PlanStepView(msgspec.Struct, frozen=True, gc=False):
    """One checklist step as screens show it, its state computed at the time asked."""

    step_no: int
    title: str
    role: str
    due_at: Moment
    state: StepState
    late: bool
    done_at: Moment | None
    done_by: str | None


class PlanView(msgspec.Struct, frozen=True, gc=False):
    """An activation as the duty console and the wall show it (no personal data, no summary)."""

    activation_id: int
    plan_id: str
    plan_name: str
    case_id: int
    case_no: str
    township_code: str | None
    level: int
    status: PlanStatus
    activated_by: str
    activated_at: Moment
    closed_at: Moment | None
    steps: tuple[PlanStepView, ...]
    forces: tuple[ForceRequest, ...]


def plan_view(activation: PlanActivation, now: datetime) -> PlanView:
    """The screen view of an activation at `now` (overdue steps show as overdue)."""
    _aware(now)
    steps = tuple(
        PlanStepView(
            step_no=step.step_no,
            title=step.title,
            role=step.role,
            due_at=step.due_at,
            state=step.state(now),
            late=step.late,
            done_at=step.done_at,
            done_by=step.done_by,
        )
        for step in activation.steps
    )
    return PlanView(
        activation_id=activation.activation_id,
        plan_id=activation.plan.plan_id,
        plan_name=activation.plan.name,
        case_id=activation.case_id,
        case_no=activation.case_no,
        township_code=activation.township_code,
        level=int(activation.level),
        status=activation.status,
        activated_by=activation.activated_by,
        activated_at=activation.activated_at,
        closed_at=activation.closed_at,
        steps=steps,
        forces=force_requests(activation.plan),
    )


def force_requests(plan: Plan) -> tuple[ForceRequest, ...]:
    """The plan's force package as requests (unit type, count), in the plan's order."""
    return tuple(ForceRequest(item.unit_type, item.count) for item in plan.forces)


def _envelope(activation: PlanActivation, actor: str, now: datetime) -> Envelope:
    return {
        "at": now,
        "actor": actor,
        "case_id": activation.case_id,
        "case_no": activation.case_no,
        "township_code": activation.township_code,
        "plan_id": activation.plan.plan_id,
        "activation_id": activation.activation_id,
    }


def _with_step(activation: PlanActivation, step: PlanStep) -> PlanActivation:
    steps = list(activation.steps)
    steps[step.step_no - 1] = step
    return msgspec.structs.replace(activation, steps=tuple(steps), version=activation.version + 1)


def _running(activation: PlanActivation, what: str) -> None:
    if not activation.is_active:
        closed = activation.closed_at.isoformat() if activation.closed_at else "?"
        raise IllegalPlanMove(
            f"plan activation {activation.activation_id} was closed by {activation.closed_by}"
            f" at {closed}: cannot {what}"
        )


def _aware(now: datetime) -> None:
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
