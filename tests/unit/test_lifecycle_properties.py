"""Property tests: random command sequences against the lifecycle, checked independently."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.case import (
    AssignmentKind,
    AssignmentStatus,
    Case,
    CaseStatus,
    DeadlineKind,
    DispatchTarget,
    LinkKind,
    Satisfaction,
    case_from_row,
    case_to_row,
)
from incidents.commands import (
    SYSTEM_DEADLINES,
    Accept,
    Acknowledge,
    Arrive,
    Cancel,
    Command,
    Dispatch,
    Escalate,
    EvaluateAndArchive,
    HandDown,
    HandOver,
    LinkReports,
    MergeInto,
    RecordOverdue,
    Reject,
    ReportFeedback,
    RequestForces,
    StandDown,
    UnlinkReport,
    Verify,
)
from incidents.events import (
    CaseEscalated,
    CaseOverdue,
    Event,
    EventType,
    FeedbackReported,
    event_from_json,
    event_json,
)
from incidents.lifecycle import (
    IllegalMove,
    Move,
    allowed_moves,
    apply,
    invariant_violations,
    move_of,
    replay,
)
from incidents.vocabulary import Category, Severity, Step, Tier
from tests.unit.lifecycle_fixtures import GAOCHUN, OUTSIDE, new_case, report

ACTORS = ("duty-a", "duty-b", "field-1", "field-2", "clerk", "verifier")
UNITS = ("car-1", "car-2", "dept-1")
REASONS = ("现场核实", "现场核实", "现场核实", None, "")
HANDLERS = ("field-1", "field-2", "clerk", "verifier")
GAPS = (
    timedelta(0),
    timedelta(seconds=20),
    timedelta(minutes=4),
    timedelta(hours=3),
    timedelta(days=4),
)
PROPERTY_SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def target(unit_id: str) -> DispatchTarget:
    """Units named dept-* are departments, the rest moving units."""
    kind = AssignmentKind.DEPARTMENT if unit_id.startswith("dept") else AssignmentKind.UNIT
    return DispatchTarget(unit_id=unit_id, kind=kind, name=unit_id)


T = TypeVar("T")


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of `options`; repeat an option to make it likelier."""
    return options[draw(st.integers(0, len(options) - 1))]


def command_for(draw: st.DrawFn, move: Move, case: Case) -> Command:
    """A command of one kind, with arguments drawn near the case's state (often legal)."""
    actor = pick(draw, ACTORS if case.owner is None else (*ACTORS, case.owner, case.owner))
    reason = pick(draw, REASONS)
    busy = [a.unit_id for a in case.active_assignments]
    unit_id = pick(draw, (*busy, *busy, *busy, *UNITS))
    source = pick(draw, ("110-2", "110-3", "12345-4", case.source_id))
    match move:
        case Move.ACCEPT:
            return Accept(actor=actor)
        case Move.REJECT:
            return Reject(actor=actor, reason=reason)
        case Move.ESCALATE:
            return Escalate(actor=actor, reason=reason, to_tier=pick(draw, (None, None, *Tier)))
        case Move.HAND_DOWN:
            return HandDown(actor=actor, reason=reason, to_tier=pick(draw, tuple(Tier)))
        case Move.HAND_OVER:
            return HandOver(actor=actor, reason=reason, to_owner=pick(draw, ACTORS))
        case Move.DISPATCH:
            count = pick(draw, (0, 1, 1, 1, 2, 3))
            ids = [pick(draw, UNITS) for _ in range(count)]
            return Dispatch(actor=actor, targets=tuple(target(i) for i in ids))
        case Move.ACKNOWLEDGE:
            return Acknowledge(actor=pick(draw, HANDLERS), unit_id=unit_id)
        case Move.ARRIVE:
            return Arrive(actor=pick(draw, HANDLERS), unit_id=unit_id)
        case Move.REPORT_FEEDBACK:
            return ReportFeedback(
                actor=pick(draw, HANDLERS),
                unit_id=unit_id,
                text=pick(draw, ("已处置", "处置中", "")),
                photos=pick(draw, ((), ("p/1.jpg",))),
                completed=pick(draw, (True, True, False)),
            )
        case Move.REQUEST_FORCES:
            return RequestForces(
                actor=pick(draw, HANDLERS),
                needed=pick(draw, ("两辆巡逻车", "")),
                unit_id=pick(draw, (None, unit_id)),
            )
        case Move.STAND_DOWN:
            return StandDown(actor=actor, reason=reason, unit_id=unit_id)
        case Move.VERIFY_PASS | Move.VERIFY_FAIL:
            return Verify(actor=actor, reason=reason, passed=move is Move.VERIFY_PASS)
        case Move.EVALUATE_AND_ARCHIVE:
            return EvaluateAndArchive(
                actor=actor, reason=reason, satisfaction=pick(draw, (None, *Satisfaction))
            )
        case Move.CANCEL:
            return Cancel(actor=actor, reason=reason)
        case Move.MERGE_INTO:
            return MergeInto(
                actor=actor,
                target_case_id=pick(draw, (7, case.case_id)),
                target_case_no="320118-20261126-0007",
            )
        case Move.LINK_REPORTS:
            ids = [source for _ in range(pick(draw, (0, 1, 1, 2)))]
            return LinkReports(
                actor=actor,
                reports=tuple(report(i) for i in ids),
                how=pick(draw, tuple(LinkKind)),
            )
        case Move.UNLINK_REPORT:
            # Which reports are linked is the store's knowledge (the service checks it); the
            # domain refuses only the opening report and a case with nothing linked.
            others = ("110-2", "110-3", "12345-4")
            source_id = pick(draw, (*others, *others, case.source_id))
            return UnlinkReport(actor=actor, reason=reason, source_id=source_id)
        case Move.RECORD_OVERDUE:
            deadline = case.deadline
            if deadline is None:
                return RecordOverdue(
                    actor=SYSTEM_DEADLINES,
                    kind=pick(draw, tuple(DeadlineKind)),
                    due_at=case.opened_at,
                )
            return RecordOverdue(
                actor=SYSTEM_DEADLINES,
                kind=deadline.kind,
                due_at=pick(draw, (deadline.due_at, deadline.due_at, deadline.started_at)),
            )


def happy_next(draw: st.DrawFn, case: Case) -> Command | None:
    """The next move of an ordinary case, so runs get deep; None once nothing is left."""
    if not case.is_open:
        return None
    if case.deadline is not None and pick(draw, (False, False, False, True)):
        # The scheduler's order for the running deadline, which may or may not be late yet.
        return RecordOverdue(
            actor=SYSTEM_DEADLINES, kind=case.deadline.kind, due_at=case.deadline.due_at
        )
    units = {a.status: a.unit_id for a in reversed(case.active_assignments)}
    match case.step:
        case Step.INTAKE:
            return Accept(actor=pick(draw, ("duty-a", "duty-b")))
        case Step.REPORT:
            return Dispatch(actor="duty-a", targets=(target(pick(draw, UNITS)),))
        case Step.DISPATCH | Step.FEEDBACK if AssignmentStatus.DISPATCHED in units:
            unit_id = units[AssignmentStatus.DISPATCHED]
            return Acknowledge(actor=pick(draw, HANDLERS), unit_id=unit_id)
        case Step.DISPATCH | Step.FEEDBACK if AssignmentStatus.ACKNOWLEDGED in units:
            unit_id = units[AssignmentStatus.ACKNOWLEDGED]
            if case.step is Step.FEEDBACK and unit_id.startswith("dept"):
                return ReportFeedback(
                    actor=pick(draw, HANDLERS), unit_id=unit_id, text="已办", completed=True
                )
            return Arrive(actor=pick(draw, HANDLERS), unit_id=unit_id)
        case Step.FEEDBACK if AssignmentStatus.ARRIVED in units:
            return ReportFeedback(
                actor=pick(draw, HANDLERS),
                unit_id=units[AssignmentStatus.ARRIVED],
                text="已处置",
                completed=pick(draw, (True, True, False)),
            )
        case Step.DISPATCH | Step.FEEDBACK:
            return Dispatch(actor="duty-a", targets=(target(pick(draw, UNITS)),))
        case Step.VERIFY:
            passed = pick(draw, (True, True, False))
            return Verify(actor=pick(draw, ("verifier", "duty-b")), passed=passed, reason="复核")
        case Step.ARCHIVE:
            return EvaluateAndArchive(
                actor="duty-a", satisfaction=pick(draw, tuple(Satisfaction)), reason="回访"
            )
    return None


@st.composite
def runs(draw: st.DrawFn) -> tuple[Case, list[Event], list[tuple[Case, Command, object]]]:
    """Open a case, then apply up to 40 drawn commands; collect events and every attempt."""
    jurisdiction = pick(draw, (GAOCHUN,) * 9 + (OUTSIDE,))
    tiers = (
        (Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE) if jurisdiction is GAOCHUN else (Tier.COUNTY,)
    )
    driver = new_case(
        category=pick(draw, tuple(Category)),
        severity=pick(draw, tuple(Severity)),
        owning_tier=pick(draw, tiers),
        jurisdiction=jurisdiction,
    )
    case, log, now = driver.case, list(driver.log), driver.now
    attempts: list[tuple[Case, Command, object]] = []
    for _ in range(draw(st.integers(0, 40))):
        # Mostly moves the table allows here (to get deep), sometimes any move at all.
        # Half the time the ordinary next move (to get deep), else any move the table allows
        # here, now and then any move at all (to be refused).
        choice = pick(draw, ("happy", "happy", "happy", "allowed", "allowed", "any"))
        allowed = allowed_moves(case)
        happy = happy_next(draw, case) if choice == "happy" else None
        if happy is not None:
            command: Command = happy
        else:
            pool = allowed if allowed and choice != "any" else tuple(Move)
            command = command_for(draw, pick(draw, pool), case)
        now += pick(draw, GAPS)
        try:
            new, events = apply(case, command, now)
        except IllegalMove as error:
            attempts.append((case, command, error))
            continue
        attempts.append((case, command, events))
        log.extend(events)
        case = new
    return case, log, attempts


@PROPERTY_SETTINGS
@given(runs())
def test_random_commands_never_reach_an_invalid_state(run: tuple) -> None:
    """Every case reached satisfies every invariant, and refusals change nothing."""
    _, _, attempts = run
    for before, command, outcome in attempts:
        assert invariant_violations(before) == ()
        if isinstance(outcome, IllegalMove):
            assert outcome.case_no == before.case_no and outcome.step is before.step
            assert outcome.move is move_of(command)
            assert before.case_no in str(outcome) and move_of(command).value in str(outcome)


@PROPERTY_SETTINGS
@given(runs())
def test_each_command_yields_events_that_continue_the_log(run: tuple) -> None:
    """A legal command bumps the version once and adds contiguous events from its step on."""
    final, log, attempts = run
    for before, _, outcome in attempts:
        if isinstance(outcome, IllegalMove):
            continue
        events: list[Event] = outcome  # type: ignore[assignment]
        assert events, "a legal command always leaves a trace"
        assert [e.seq for e in events] == list(
            range(before.last_seq + 1, before.last_seq + 1 + len(events))
        )
        assert {e.version for e in events} == {before.version + 1}
        assert events[0].step_before is before.step
    assert [e.seq for e in log] == list(range(1, final.last_seq + 1))
    assert all(b.step_after is a.step_before for b, a in itertools.pairwise(log))


@PROPERTY_SETTINGS
@given(runs())
def test_replaying_the_log_rebuilds_the_same_case(run: tuple) -> None:
    """replay(events) — also after JSON and snapshot round trips — equals the live case."""
    final, log, _ = run
    assert replay(log) == final
    assert case_from_row(case_to_row(final)) == final
    assert replay(event_from_json(event_json(e)) for e in log) == final
    assert replay(copy.deepcopy(log)) == final


@PROPERTY_SETTINGS
@given(runs())
def test_no_case_is_archived_without_a_passed_verification_by_a_non_handler(run: tuple) -> None:
    """From the log alone: archived means reworked, completed, then passed by a non-handler."""
    final, log, _ = run
    types = [e.type for e in log]
    if final.status is not CaseStatus.ARCHIVED:
        return
    handlers = {e.actor for e in log if e.type is EventType.FEEDBACK_REPORTED}
    last_reopen = max((i for i, t in enumerate(types) if t is EventType.REOPENED), default=-1)
    verified = [i for i, t in enumerate(types) if t is EventType.VERIFIED and i > last_reopen]
    assert len(verified) == 1
    assert log[verified[0]].actor not in handlers
    completed = [i for i, t in enumerate(types) if t is EventType.HANDLING_COMPLETED]
    assert completed and last_reopen < completed[-1] < verified[0]
    reworked = [
        i
        for i, e in enumerate(log)
        if isinstance(e.payload, FeedbackReported) and e.payload.completed
    ]
    assert any(last_reopen < i <= completed[-1] for i in reworked), "a completion in this round"
    assert types[-1] is EventType.ARCHIVED


@PROPERTY_SETTINGS
@given(runs())
def test_each_missed_deadline_is_recorded_and_escalated_once(run: tuple) -> None:
    """One case.overdue per deadline, each followed by at most one automatic escalation."""
    final, log, _ = run
    misses = Counter(
        (e.payload.kind, e.payload.due_at) for e in log if isinstance(e.payload, CaseOverdue)
    )
    assert all(count == 1 for count in misses.values())
    auto = [e for e in log if isinstance(e.payload, CaseEscalated) and e.payload.auto]
    assert len(auto) <= len(misses)
    assert final.counters.overdue == len(misses)
    assert final.counters.auto_escalations == len(auto)


@PROPERTY_SETTINGS
@given(runs())
def test_counters_and_history_match_the_log(run: tuple) -> None:
    """Reopens, escalations, hand-overs and linked reports agree with the events."""
    final, log, _ = run
    count = Counter(e.type for e in log)
    assert final.counters.reopens == count[EventType.REOPENED]
    assert final.counters.escalations == count[EventType.ESCALATED]
    assert final.counters.hand_downs == count[EventType.HANDED_DOWN]
    assert len(final.handovers) == count[EventType.OWNER_HANDED_OVER]
    assert final.report_count == (
        1 + count[EventType.REPORT_LINKED] - count[EventType.REPORT_UNLINKED]
    )
    assert final.owning_org == (GAOCHUN if final.jurisdiction == GAOCHUN else OUTSIDE).code_at(
        final.owning_tier
    )


@PROPERTY_SETTINGS
@given(runs())
def test_a_closed_case_refuses_everything_and_keeps_its_closure(run: tuple) -> None:
    """After the case closes, every later attempt is an IllegalMove."""
    final, _, attempts = run
    closed_seen = False
    for before, _, outcome in attempts:
        if not before.is_open:
            closed_seen = True
            assert isinstance(outcome, IllegalMove)
    if closed_seen:
        assert not final.is_open and final.closure is not None


def test_the_random_runs_reach_every_step_and_every_ending() -> None:
    """The generator is strong enough: across runs it archives, reopens, cancels, merges."""
    seen_steps: set[Step] = set()
    seen_status: set[CaseStatus] = set()
    seen_types: set[EventType] = set()

    @PROPERTY_SETTINGS
    @given(runs())
    def collect(run: tuple) -> None:
        final, log, attempts = run
        seen_steps.update(before.step for before, _, _ in attempts)
        seen_status.add(final.status)
        seen_types.update(e.type for e in log)

    collect()
    assert seen_steps == set(Step)
    assert seen_status == set(CaseStatus)
    assert seen_types == set(EventType)
