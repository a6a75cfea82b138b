"""Executing a plan: proposals, the checklist and its deadlines, levels, closure, force requests."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from incidents.case import Case
from incidents.commands import Reject
from incidents.lifecycle import apply
from incidents.plan_events import plan_event_from_json, plan_event_json
from incidents.plan_library import Plan, load_library
from incidents.plans import (
    ForceRequest,
    IllegalPlanMove,
    PlanActivation,
    PlanStatus,
    StepState,
    activate,
    change_level,
    close,
    force_requests,
    plan_view,
    proposed_plans,
    record_overdue,
    step_states,
    tick_step,
)
from incidents.vocabulary import Category, Severity
from tests.unit.lifecycle_fixtures import T0, new_case, report

LIBRARY = load_library()
HAZMAT = LIBRARY["hazmat-leak"]
MINUTE = timedelta(minutes=1)


def case_of(
    category: Category = Category.SAFETY_PRODUCTION,
    severity: Severity = Severity.II,
    summary: str | None = None,
) -> Case:
    """An open case at intake, optionally with another summary."""
    case = new_case(category=category, severity=severity).case
    if summary is not None:
        # The summary is the report's text; only the trigger rule reads it here.
        case = msgspec.structs.replace(case, summary=summary)
    return case


def activated(plan: Plan = HAZMAT) -> PlanActivation:
    """The plan activated on a level-II case at T0."""
    activation, _ = activate(plan, case_of(), activation_id=7, by="duty-wang", now=T0)
    return activation


def test_a_case_is_proposed_the_plans_of_its_category_and_level() -> None:
    """Category and level match: proposed; a level the plan does not list: not."""
    assert [p.plan_id for p in proposed_plans(LIBRARY, case_of())] == ["hazmat-leak"]
    assert proposed_plans(LIBRARY, case_of(severity=Severity.IV)) == ()
    fire = case_of(Category.FIRE, Severity.II, summary="老街一民房起火")
    assert [p.plan_id for p in proposed_plans(LIBRARY, fire)] == ["residential-fire"]


def test_a_keyword_in_the_summary_also_proposes_a_plan() -> None:
    """A lost child filed as a public-service request still proposes the search plan."""
    lost = case_of(Category.SPECIAL_POPULATION, Severity.III, summary="老人走丢，家属着急")
    assert "missing-person" in [p.plan_id for p in proposed_plans(LIBRARY, lost)]
    other = case_of(Category.PUBLIC_SERVICE, Severity.III, summary="一名孩子走丢在集市")
    assert [p.plan_id for p in proposed_plans(LIBRARY, other)] == ["missing-person"]
    plain = case_of(Category.PUBLIC_SERVICE, Severity.III, summary="路灯不亮")
    assert proposed_plans(LIBRARY, plain) == ()


def test_a_closed_case_is_proposed_nothing_and_cannot_start_a_plan() -> None:
    """A rejected case matches nothing and refuses activation."""
    driver = new_case(category=Category.SAFETY_PRODUCTION, severity=Severity.II)
    rejected, _ = apply(driver.case, Reject(actor="duty-wang", reason="误报"), T0 + MINUTE)
    assert proposed_plans(LIBRARY, rejected) == ()
    with pytest.raises(IllegalPlanMove, match="rejected"):
        activate(HAZMAT, rejected, activation_id=1, by="duty-wang", now=T0)


def test_activation_records_who_and_when_and_every_deadline() -> None:
    """Each step is due its time limit after activation; the event lists steps and forces."""
    activation, [event] = activate(HAZMAT, case_of(), activation_id=7, by="duty-wang", now=T0)
    assert (activation.activated_by, activation.activated_at) == ("duty-wang", T0)
    assert activation.level is Severity.II
    assert [s.due_at - T0 for s in activation.steps] == [
        timedelta(minutes=a.time_limit_min) for a in HAZMAT.actions
    ]
    assert [s.role for s in activation.steps] == [a.role.value for a in HAZMAT.actions]
    assert step_states(activation, T0) == (StepState.PENDING,) * len(HAZMAT.actions)
    assert plan_event_from_json(plan_event_json(event)) == event
    assert event.case_id == activation.case_id and len(event.steps) == len(HAZMAT.actions)
    assert event.forces == (
        ("hazmat_team", 2),
        ("fire_engine", 3),
        ("ambulance", 2),
        ("patrol_car", 4),
        ("joint_defence", 2),
    )


def test_activation_at_another_level_than_the_cases() -> None:
    """The commander may start the plan at a higher level than the report said."""
    activation, _ = activate(
        HAZMAT, case_of(), activation_id=7, by="director", now=T0, level=Severity.I
    )
    assert activation.level is Severity.I


def test_a_step_becomes_overdue_at_its_deadline_and_done_records_who_and_when() -> None:
    """Pending before the deadline, overdue from it on, done once ticked (by whom, when)."""
    activation = activated()
    due = activation.steps[0].due_at
    assert activation.steps[0].state(due - MINUTE) is StepState.PENDING
    assert activation.steps[0].state(due) is StepState.OVERDUE
    ticked, [event] = tick_step(activation, 1, by="duty-li", now=due - MINUTE)
    step = ticked.steps[0]
    assert (step.done_by, step.done_at, step.late) == ("duty-li", due - MINUTE, False)
    assert step.state(due + timedelta(hours=1)) is StepState.DONE
    assert event.step_no == 1 and not event.late
    assert ticked.version == activation.version + 1


def test_a_step_done_late_stays_marked_late() -> None:
    """Ticked after its deadline: done, and late for good."""
    activation = activated()
    due = activation.steps[1].due_at
    ticked, [event] = tick_step(activation, 2, by="duty-li", now=due + 3 * MINUTE)
    assert ticked.steps[1].late and event.late
    assert ticked.steps[1].state(due + timedelta(days=1)) is StepState.DONE
    assert ticked.steps[1].late


def test_ticking_twice_or_a_step_that_does_not_exist_is_refused() -> None:
    """A step is done once; step numbers run from 1 to the number of actions."""
    ticked, _ = tick_step(activated(), 1, by="duty-li", now=T0 + MINUTE)
    with pytest.raises(IllegalPlanMove, match="already done by duty-li"):
        tick_step(ticked, 1, by="duty-wang", now=T0 + 2 * MINUTE)
    for step_no in (0, len(HAZMAT.actions) + 1):
        with pytest.raises(IllegalPlanMove, match="has steps 1-8"):
            tick_step(ticked, step_no, by="duty-li", now=T0 + MINUTE)


def test_overdue_steps_are_announced_once_each() -> None:
    """At 11 minutes steps 1-3 are late; the first recording announces them, the next nothing."""
    activation = activated()
    later = T0 + 11 * MINUTE
    recorded, events = record_overdue(activation, later)
    assert [e.step_no for e in events] == [1, 2, 3]
    assert events[0].overdue_by == 6 * MINUTE
    again, none = record_overdue(recorded, later + MINUTE)
    assert none == [] and again == recorded
    # Announced, still overdue: ticking it now makes it done and late.
    ticked, [done] = tick_step(recorded, 1, by="duty-li", now=later + MINUTE)
    assert ticked.steps[0].state(later) is StepState.DONE and done.late


def test_a_level_change_is_recorded_and_keeps_every_deadline() -> None:
    """Raised, then lowered: both recorded with who, when and why; deadlines unchanged."""
    activation = activated()
    raised, [event] = change_level(
        activation, Severity.I, by="director", now=T0 + 5 * MINUTE, reason="扩散至居民区"
    )
    lowered, _ = change_level(
        raised, Severity.III, by="director", now=T0 + 50 * MINUTE, reason="泄漏已控制"
    )
    assert [(c.from_level, c.to_level) for c in lowered.level_changes] == [
        (Severity.II, Severity.I),
        (Severity.I, Severity.III),
    ]
    assert lowered.level_changes[0].reason == "扩散至居民区"
    assert [s.due_at for s in lowered.steps] == [s.due_at for s in activation.steps]
    assert (event.from_level, event.to_level) == (Severity.II, Severity.I)


def test_a_level_change_to_the_same_level_or_without_reason_is_refused() -> None:
    """Nothing to record is refused rather than written as noise."""
    with pytest.raises(IllegalPlanMove, match="already at level II"):
        change_level(activated(), Severity.II, by="d", now=T0, reason="x")
    with pytest.raises(IllegalPlanMove, match="needs a reason"):
        change_level(activated(), Severity.I, by="d", now=T0, reason="  ")


def test_closing_records_the_summary_and_counts_the_steps() -> None:
    """Closed with a summary; the event counts done, late and open steps (no summary in it)."""
    activation = activated()
    activation, _ = tick_step(activation, 1, by="a", now=T0 + MINUTE)
    activation, _ = tick_step(activation, 2, by="a", now=T0 + 20 * MINUTE)
    closed, [event] = close(activation, by="director", now=T0 + 3 * 60 * MINUTE, summary="已处置")
    assert closed.status is PlanStatus.CLOSED
    assert (closed.closed_by, closed.summary) == ("director", "已处置")
    assert (event.steps_done, event.steps_late, event.steps_open) == (2, 1, 6)
    assert "已处置" not in plan_event_json(event).decode()


def test_a_closed_plan_refuses_every_change() -> None:
    """Closing twice, ticking, re-levelling a closed plan: each refused, naming the closure."""
    closed, _ = close(activated(), by="director", now=T0 + 60 * MINUTE, summary="已处置")
    later = T0 + 61 * MINUTE
    with pytest.raises(IllegalPlanMove, match="closed by director"):
        close(closed, by="director", now=later, summary="再次关闭")
    with pytest.raises(IllegalPlanMove, match="cannot tick step 3"):
        tick_step(closed, 3, by="a", now=later)
    with pytest.raises(IllegalPlanMove, match="cannot change its level"):
        change_level(closed, Severity.I, by="a", now=later, reason="x")
    assert record_overdue(closed, later) == (closed, [])
    with pytest.raises(IllegalPlanMove, match="needs a summary"):
        close(activated(), by="director", now=later, summary=" ")


def test_naive_times_are_refused() -> None:
    """A time without offset cannot be compared with deadlines."""
    with pytest.raises(ValueError, match="timezone-aware"):
        tick_step(activated(), 1, by="a", now=T0.replace(tzinfo=None))


def test_force_requests_follow_the_plans_package() -> None:
    """Unit type and count per line, in the plan's order, for the recommendation engine."""
    assert force_requests(LIBRARY["missing-person"]) == (
        ForceRequest("patrol_car", 2),
        ForceRequest("foot_patrol", 2),
        ForceRequest("joint_defence", 2),
        ForceRequest("grid_worker", 4),
        ForceRequest("social_worker", 1),
    )


def test_plan_events_carry_no_personal_data() -> None:
    """The reporter of the case never appears in any plan event."""
    reporter = report().reporter
    assert reporter is not None and reporter.name and reporter.phone
    activation, events = activate(HAZMAT, case_of(), activation_id=7, by="d", now=T0)
    activation, more = tick_step(activation, 1, by="d", now=T0 + MINUTE)
    for event in [*events, *more]:
        text = plan_event_json(event).decode()
        assert reporter.name not in text and reporter.phone not in text


def test_the_view_shows_each_steps_state_at_the_time_asked() -> None:
    """Done, overdue and pending side by side; forces listed; no summary in the view."""
    activation = activated()
    activation, _ = tick_step(activation, 1, by="duty-li", now=T0 + 7 * MINUTE)
    view = plan_view(activation, T0 + 11 * MINUTE)
    assert [s.state for s in view.steps[:4]] == [
        StepState.DONE,
        StepState.OVERDUE,
        StepState.OVERDUE,
        StepState.PENDING,
    ]
    assert view.steps[0].late and view.steps[0].done_by == "duty-li"
    assert view.forces == force_requests(HAZMAT)
    closed, _ = close(activation, by="d", now=T0 + 12 * MINUTE, summary="内部总结")
    assert "内部总结" not in msgspec.json.encode(plan_view(closed, T0 + 12 * MINUTE)).decode()
