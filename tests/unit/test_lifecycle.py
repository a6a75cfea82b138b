"""Table tests for the six-step closed loop: every main and side path, and every refusal."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from incidents.case import (
    AssignmentStatus,
    CaseStatus,
    DeadlineKind,
    LinkKind,
    Satisfaction,
    case_from_row,
    case_to_row,
)
from incidents.commands import (
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
    Reject,
    ReportFeedback,
    RequestForces,
    StandDown,
    UnlinkReport,
    Verify,
)
from incidents.events import (
    ENVELOPE_FIELDS,
    PAYLOAD_TYPES,
    Event,
    EventDecodeError,
    EventType,
    event_from_json,
    event_from_row,
    event_json,
    event_to_row,
    public_event_json,
)
from incidents.lifecycle import (
    STEP_NAMES_ZH,
    TRANSITIONS,
    EventLogError,
    IllegalMove,
    Move,
    allowed_moves,
    apply,
    default_intake_tier,
    invariant_violations,
    replay,
)
from incidents.vocabulary import Category, Channel, Severity, Step, Tier
from tests.unit.lifecycle_fixtures import (
    GAOCHUN,
    OUTSIDE,
    T0,
    Driver,
    department,
    drive_to,
    new_case,
    report,
    unit,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"


def refused(driver: Driver, command: Command, *words: str) -> IllegalMove:
    """Assert the command is refused, nothing changes, and the error names what it should."""
    before = copy.deepcopy(driver.case)
    with pytest.raises(IllegalMove) as caught:
        apply(driver.case, command, driver.now + timedelta(minutes=1))
    assert driver.case == before
    message = str(caught.value)
    for word in (driver.case.case_no, driver.case.step.value, *words):
        assert word in message, f"{word!r} not in {message!r}"
    return caught.value


# --- intake -----------------------------------------------------------------------------


def test_open_case_emits_case_opened_at_intake_with_an_acceptance_deadline() -> None:
    """Opening a case yields one case.opened event (seq 1, version 1) and starts the clock."""
    driver = new_case(category=Category.FIRE, severity=Severity.I)
    case = driver.case
    [opened] = driver.log
    assert opened.type is EventType.OPENED
    assert (opened.seq, opened.version, opened.step_before, opened.step_after) == (
        1,
        1,
        None,
        Step.INTAKE,
    )
    assert case.step is Step.INTAKE and case.status is CaseStatus.OPEN
    assert case.deadline is not None
    assert case.deadline.kind is DeadlineKind.ACCEPTANCE
    assert case.deadline.due_at == T0 + timedelta(minutes=1)
    assert case.owner is None
    assert invariant_violations(case) == ()


def test_open_case_takes_the_category_default_severity_when_none_is_reported() -> None:
    """A report without severity gets DEFAULT_SEVERITY for its category."""
    driver = new_case(category=Category.FIRE, severity=None)
    assert driver.case.severity is Severity.II


def test_open_case_refuses_a_tier_the_location_does_not_have() -> None:
    """A point outside the county has no township to own it."""
    with pytest.raises(ValueError, match="township"):
        new_case(jurisdiction=OUTSIDE, owning_tier=Tier.TOWNSHIP)


def test_open_case_refuses_a_naive_clock() -> None:
    """Time must be timezone-aware."""
    with pytest.raises(ValueError, match="timezone"):
        new_case(at=T0.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("channel", "jurisdiction", "tier"),
    [
        (Channel.GRID, GAOCHUN, Tier.VILLAGE),
        (Channel.GRID, OUTSIDE, Tier.COUNTY),
        (Channel.POLICE_110, GAOCHUN, Tier.COUNTY),
        (Channel.HOTLINE_12345, GAOCHUN, Tier.COUNTY),
    ],
)
def test_default_intake_tier_takes_grid_reports_at_their_village(
    channel: Channel, jurisdiction: object, tier: Tier
) -> None:
    """Grid reports start at their village; the centre's own lines at the county."""
    assert default_intake_tier(channel, jurisdiction) is tier  # type: ignore[arg-type]


def test_accept_makes_the_actor_first_responsible_owner() -> None:
    """受理: the case moves to report, its owner is whoever accepted it, dispatch clock runs."""
    driver = new_case(category=Category.FIRE, severity=Severity.I)
    events = driver.do(Accept(actor="duty-a"))
    assert driver.types(events) == ["case.accepted"]
    case = driver.case
    assert case.step is Step.REPORT
    assert (case.owner, case.accepted_by, case.accepted_at) == ("duty-a", "duty-a", driver.now)
    assert case.deadline is not None
    assert case.deadline.kind is DeadlineKind.DISPATCH
    assert case.deadline.due_at == driver.now + timedelta(minutes=3)


def test_reject_closes_the_case_at_intake_with_its_reason() -> None:
    """不予受理 closes the case as rejected, with who, when and why."""
    driver = new_case()
    driver.do(Reject(actor="duty-a", reason="非本辖区事务"))
    case = driver.case
    assert case.status is CaseStatus.REJECTED and case.step is Step.INTAKE
    assert case.closure is not None
    assert (case.closure.by, case.closure.reason) == ("duty-a", "非本辖区事务")
    assert case.deadline is None


@pytest.mark.parametrize(
    "command",
    [
        Reject(actor="duty-a"),
        Reject(actor="duty-a", reason="  "),
        Escalate(actor="duty-a"),
        HandDown(actor="duty-a", to_tier=Tier.TOWNSHIP),
        UnlinkReport(actor="duty-a", source_id="x"),
    ],
)
def test_moves_that_need_a_reason_are_refused_without_one(command: Command) -> None:
    """Reject, escalate, hand down and split all require a reason."""
    refused(new_case(), command, "reason")


@pytest.mark.parametrize(
    "command",
    [
        Accept(actor="duty-b"),
        Dispatch(actor="duty-b", targets=(unit(),)),
        Escalate(actor="duty-b", reason="x"),
        LinkReports(actor="duty-b", reports=(report("other"),)),
    ],
)
def test_a_closed_case_refuses_every_move(command: Command) -> None:
    """After rejection nothing more happens to a case."""
    driver = new_case()
    driver.do(Reject(actor="duty-a", reason="重复来电"))
    refused(driver, command, "closed", "rejected")
    assert allowed_moves(driver.case) == ()


# --- tiers: escalate and hand down ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to_tier", "expected"),
    [
        (Tier.TOWNSHIP, None, Tier.COUNTY),
        (Tier.VILLAGE, None, Tier.TOWNSHIP),
        (Tier.VILLAGE, Tier.COUNTY, Tier.COUNTY),
        (Tier.TOWNSHIP, Tier.COUNTY, Tier.COUNTY),
    ],
)
def test_escalate_moves_the_case_up(start: Tier, to_tier: Tier | None, expected: Tier) -> None:
    """上报上级: one tier up by default, or straight to a named higher tier."""
    driver = drive_to(new_case(owning_tier=start), Step.REPORT)
    events = driver.do(Escalate(actor="duty-a", reason="涉及多部门", to_tier=to_tier))
    assert driver.types(events) == ["case.escalated"]
    assert driver.case.owning_tier is expected
    assert driver.case.owning_org == GAOCHUN.code_at(expected)
    assert driver.case.counters.escalations == 1
    assert driver.case.owner == "duty-a"  # first responsibility stays until handed over


@pytest.mark.parametrize(
    ("start", "to_tier", "words"),
    [
        (Tier.COUNTY, None, ("top tier",)),
        (Tier.TOWNSHIP, Tier.VILLAGE, ("not above",)),
        (Tier.TOWNSHIP, Tier.TOWNSHIP, ("not above",)),
        (Tier.VILLAGE, Tier.GRID, ("not above",)),
    ],
)
def test_escalate_refuses_anything_but_a_higher_tier(
    start: Tier, to_tier: Tier | None, words: tuple[str, ...]
) -> None:
    """The county cannot go higher; escalation never goes down or sideways."""
    driver = drive_to(new_case(owning_tier=start), Step.REPORT)
    refused(driver, Escalate(actor="duty-a", reason="x", to_tier=to_tier), "escalate", *words)


@pytest.mark.parametrize(
    ("start", "to_tier"),
    [(Tier.COUNTY, Tier.TOWNSHIP), (Tier.COUNTY, Tier.VILLAGE), (Tier.TOWNSHIP, Tier.VILLAGE)],
)
def test_hand_down_moves_the_case_to_a_lower_tier(start: Tier, to_tier: Tier) -> None:
    """交办下级: county to township or village, township to village."""
    driver = drive_to(new_case(owning_tier=start), Step.REPORT)
    events = driver.do(HandDown(actor="duty-a", reason="属地处置", to_tier=to_tier))
    assert driver.types(events) == ["case.handed_down"]
    payload = events[0].payload
    assert (payload.from_tier, payload.to_tier) == (start, to_tier)  # type: ignore[union-attr]
    assert driver.case.owning_tier is to_tier
    assert driver.case.counters.hand_downs == 1


@pytest.mark.parametrize(
    ("start", "to_tier"),
    [
        (Tier.TOWNSHIP, Tier.COUNTY),
        (Tier.TOWNSHIP, Tier.TOWNSHIP),
        (Tier.VILLAGE, Tier.GRID),
        (Tier.COUNTY, Tier.GRID),
    ],
)
def test_hand_down_refuses_other_directions(start: Tier, to_tier: Tier) -> None:
    """Hand down never goes up, sideways, or to a grid."""
    driver = drive_to(new_case(owning_tier=start), Step.REPORT)
    refused(driver, HandDown(actor="duty-a", reason="x", to_tier=to_tier), "hand_down")


def test_hand_down_needs_the_location_to_have_that_tier() -> None:
    """A case outside the county has no township to hand it to."""
    driver = drive_to(new_case(jurisdiction=OUTSIDE), Step.REPORT)
    refused(driver, HandDown(actor="duty-a", reason="x", to_tier=Tier.TOWNSHIP), "no township")


def test_hand_down_is_not_a_move_during_verification() -> None:
    """Once handling is done the owning tier verifies; it cannot pass the case down."""
    driver = drive_to(new_case(), Step.VERIFY)
    refused(driver, HandDown(actor="duty-a", reason="x", to_tier=Tier.TOWNSHIP), "not a move")


# --- ownership ----------------------------------------------------------------------------


def test_hand_over_records_from_whom_to_whom_and_why() -> None:
    """移交: the owner passes first responsibility on; the record keeps who, whom, why."""
    driver = drive_to(new_case(), Step.REPORT)
    events = driver.do(HandOver(actor="duty-a", to_owner="duty-b", reason="交接班"))
    assert driver.types(events) == ["case.owner_handed_over"]
    case = driver.case
    assert case.owner == "duty-b" and case.accepted_by == "duty-a"
    [handover] = case.handovers
    assert (handover.from_owner, handover.to_owner, handover.reason) == (
        "duty-a",
        "duty-b",
        "交接班",
    )
    assert (handover.by, handover.at) == ("duty-a", driver.now)
    assert case.counters.handovers == 1


@pytest.mark.parametrize(
    ("actor", "to_owner", "reason", "words"),
    [
        ("duty-b", "duty-c", "交接班", ("only the owner",)),
        ("duty-a", "duty-a", "交接班", ("someone else",)),
        ("duty-a", "duty-b", None, ("reason",)),
    ],
)
def test_hand_over_is_refused_unless_the_owner_gives_it_to_someone_else(
    actor: str, to_owner: str, reason: str | None, words: tuple[str, ...]
) -> None:
    """Only the owner hands over, to another person, saying why."""
    driver = drive_to(new_case(), Step.REPORT)
    refused(driver, HandOver(actor=actor, to_owner=to_owner, reason=reason), *words)


def test_nobody_can_hand_over_a_case_nobody_has_taken() -> None:
    """At intake there is no owner yet, so no hand-over."""
    refused(new_case(), HandOver(actor="duty-a", to_owner="duty-b", reason="x"), "hand_over")


# --- dispatch and handling ------------------------------------------------------------------


def test_dispatch_sends_several_units_and_starts_the_arrival_clock() -> None:
    """指挥派遣: one case.dispatched per unit; the first moves the case to dispatch."""
    driver = drive_to(new_case(category=Category.FIRE, severity=Severity.I), Step.REPORT)
    events = driver.do(Dispatch(actor="duty-a", targets=(unit("fire-1"), unit("car-2"))))
    assert driver.types(events) == ["case.dispatched", "case.dispatched"]
    assert [e.step_after for e in events] == [Step.DISPATCH, Step.DISPATCH]
    case = driver.case
    assert [(a.assignment_no, a.unit_id, a.status) for a in case.assignments] == [
        (1, "fire-1", AssignmentStatus.DISPATCHED),
        (2, "car-2", AssignmentStatus.DISPATCHED),
    ]
    assert case.deadline is not None
    assert case.deadline.kind is DeadlineKind.ARRIVAL
    assert case.deadline.due_at == driver.now + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("targets", "words"),
    [
        ((), ("nothing to dispatch",)),
        ((unit("car-2"), unit("car-2")), ("named once",)),
        ((unit(""),), ("named once",)),
        ((unit("car-1"),), ("already on this case: car-1",)),
    ],
)
def test_dispatch_refuses_empty_repeated_or_busy_units(
    targets: tuple[object, ...], words: tuple[str, ...]
) -> None:
    """Each dispatch names at least one unit, each once, none already on the case."""
    driver = drive_to(new_case(), Step.DISPATCH)
    refused(driver, Dispatch(actor="duty-a", targets=targets), *words)  # type: ignore[arg-type]


def test_a_unit_must_acknowledge_before_it_arrives() -> None:
    """签收 comes before 到场."""
    driver = drive_to(new_case(), Step.DISPATCH)
    refused(driver, Arrive(actor="field-1", unit_id="car-1"), "acknowledge before arriving")


def test_a_unit_cannot_acknowledge_twice() -> None:
    """A second acknowledgement is refused."""
    driver = drive_to(new_case(), Step.DISPATCH)
    driver.do(Acknowledge(actor="field-1", unit_id="car-1"))
    refused(driver, Acknowledge(actor="field-1", unit_id="car-1"), "already acknowledged")


def test_commands_for_a_unit_not_on_the_case_are_refused() -> None:
    """Only dispatched units can acknowledge, arrive, report or be stood down."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    for command in (
        Acknowledge(actor="x", unit_id="ghost"),
        Arrive(actor="x", unit_id="ghost"),
        ReportFeedback(actor="x", unit_id="ghost", text="t"),
        StandDown(actor="x", unit_id="ghost", reason="r"),
        RequestForces(actor="x", unit_id="ghost", needed="2 cars"),
    ):
        refused(driver, command, "ghost is not on this case")


def test_the_first_unit_on_scene_starts_handling_and_the_completion_clock() -> None:
    """到场 of the first unit moves the case to feedback (处置反馈)."""
    driver = drive_to(new_case(category=Category.FIRE, severity=Severity.I), Step.DISPATCH)
    driver.do(Acknowledge(actor="field-1", unit_id="car-1"))
    events = driver.do(Arrive(actor="field-1", unit_id="car-1"))
    assert driver.types(events) == ["case.unit_arrived", "case.handling_started"]
    assert driver.case.step is Step.FEEDBACK
    assert driver.case.deadline is not None
    assert driver.case.deadline.kind is DeadlineKind.COMPLETION
    assert driver.case.deadline.due_at == driver.now + timedelta(hours=24)


def test_a_department_starts_handling_when_it_acknowledges() -> None:
    """A department handles from its desk: its acknowledgement starts handling."""
    driver = drive_to(new_case(category=Category.PUBLIC_SERVICE), Step.REPORT)
    driver.do(Dispatch(actor="duty-a", targets=(department("dept-water"),)))
    events = driver.do(Acknowledge(actor="clerk", unit_id="dept-water"))
    assert driver.types(events) == ["case.unit_acknowledged", "case.handling_started"]
    events = driver.do(
        ReportFeedback(actor="clerk", unit_id="dept-water", text="已恢复供水", completed=True)
    )
    assert driver.types(events) == ["case.feedback_reported", "case.handling_completed"]


def test_a_unit_not_yet_on_scene_cannot_report_feedback() -> None:
    """Feedback comes from a unit on the task."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-2"),)))
    refused(driver, ReportFeedback(actor="f2", unit_id="car-2", text="t"), "not on the task")


def test_progress_feedback_keeps_handling_and_keeps_photos() -> None:
    """处置反馈 without completion records text and photo references; handling goes on."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    photos = ("evidence/42/1.jpg", "evidence/42/2.jpg")
    driver.do(ReportFeedback(actor="field-1", unit_id="car-1", text="正在劝离", photos=photos))
    assert driver.case.step is Step.FEEDBACK
    [feedback] = driver.case.feedback
    assert (feedback.text, feedback.photos, feedback.completed) == ("正在劝离", photos, False)
    assert driver.case.handlers == frozenset({"field-1"})


def test_feedback_needs_text() -> None:
    """An empty feedback is refused."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    refused(driver, ReportFeedback(actor="field-1", unit_id="car-1", text=" "), "text")


def test_handling_completes_only_when_nobody_is_left_on_the_task() -> None:
    """With two units out, one completing keeps handling; releasing the other completes it."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-2"),)))
    driver.do(ReportFeedback(actor="field-1", unit_id="car-1", text="done", completed=True))
    assert driver.case.step is Step.FEEDBACK
    events = driver.do(StandDown(actor="duty-a", unit_id="car-2", reason="警力已足"))
    assert driver.types(events) == ["case.unit_stood_down", "case.handling_completed"]
    assert driver.case.step is Step.VERIFY
    assert driver.case.deadline is not None
    assert driver.case.deadline.kind is DeadlineKind.VERIFICATION


def test_releasing_every_unit_without_a_completion_does_not_finish_handling() -> None:
    """Standing everyone down leaves the case in handling, waiting for a new dispatch."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    driver.do(StandDown(actor="duty-a", unit_id="car-1", reason="调往别处"))
    assert driver.case.step is Step.FEEDBACK and driver.case.active_assignments == ()
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-1"),)))
    assert [a.assignment_no for a in driver.case.assignments] == [1, 2]


def test_stand_down_needs_a_reason() -> None:
    """撤回力量 requires a reason."""
    driver = drive_to(new_case(), Step.DISPATCH)
    refused(driver, StandDown(actor="duty-a", unit_id="car-1"), "reason")


def test_request_for_more_forces_is_recorded_and_counted() -> None:
    """请求增援: who asked, for what, counted for evaluation."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    events = driver.do(RequestForces(actor="field-1", unit_id="car-1", needed="再来两辆巡逻车"))
    assert driver.types(events) == ["case.forces_requested"]
    [request] = driver.case.forces_requests
    assert (request.unit_id, request.needed, request.by) == ("car-1", "再来两辆巡逻车", "field-1")
    assert driver.case.counters.forces_requests == 1


def test_request_for_forces_must_say_what_is_needed_and_come_while_dispatched() -> None:
    """An empty request, or one before dispatch, is refused."""
    driver = drive_to(new_case(), Step.DISPATCH)
    refused(driver, RequestForces(actor="field-1", needed=""), "needed")
    refused(drive_to(new_case(), Step.REPORT), RequestForces(actor="x", needed="y"), "not a move")


# --- verification, evaluation, archive ---------------------------------------------------


def test_the_handler_cannot_verify_their_own_work() -> None:
    """任务核查 must be done by someone other than whoever reported the feedback."""
    driver = drive_to(new_case(), Step.VERIFY)
    refused(driver, Verify(actor="field-1", passed=True), "field-1 handled this case")


def test_verification_by_someone_else_passes_and_records_the_resolving_tier() -> None:
    """A pass moves the case to archive and keeps which tier resolved it."""
    driver = drive_to(new_case(owning_tier=Tier.TOWNSHIP), Step.VERIFY)
    events = driver.do(Verify(actor="verifier", passed=True))
    assert driver.types(events) == ["case.verified"]
    case = driver.case
    assert (case.step, case.verified_by, case.resolution_tier) == (
        Step.ARCHIVE,
        "verifier",
        Tier.TOWNSHIP,
    )
    assert case.deadline is None


def test_failed_verification_reopens_handling_and_counts_it() -> None:
    """核查不通过: back to handling, reopen counted, the unit re-tasked, a fresh clock."""
    driver = drive_to(new_case(), Step.VERIFY)
    events = driver.do(Verify(actor="verifier", passed=False, reason="现场仍有聚集"))
    assert driver.types(events) == ["case.reopened"]
    case = driver.case
    assert case.step is Step.FEEDBACK and case.counters.reopens == 1
    assert [(a.unit_id, a.status) for a in case.assignments] == [
        ("car-1", AssignmentStatus.DISPATCHED)
    ]
    assert case.deadline is not None and case.deadline.started_at == driver.now
    refused(driver, Verify(actor="verifier", passed=True), "not a move")


def test_failed_verification_needs_a_reason() -> None:
    """Sending work back must say why."""
    refused(drive_to(new_case(), Step.VERIFY), Verify(actor="verifier", passed=False), "reason")


def test_a_reopened_case_needs_a_new_completion_before_verification() -> None:
    """Standing down the re-tasked unit cannot skip the rework."""
    driver = drive_to(new_case(), Step.VERIFY)
    driver.do(Verify(actor="verifier", passed=False, reason="未处理完"))
    driver.do(StandDown(actor="duty-a", unit_id="car-1", reason="换人"))
    assert driver.case.step is Step.FEEDBACK
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-9"),)))
    driver.do(Acknowledge(actor="field-9", unit_id="car-9"))
    driver.do(Arrive(actor="field-9", unit_id="car-9"))
    driver.do(ReportFeedback(actor="field-9", unit_id="car-9", text="已处理", completed=True))
    assert driver.case.step is Step.VERIFY
    refused(driver, Verify(actor="field-1", passed=True), "field-1 handled")


@pytest.mark.parametrize("satisfaction", list(Satisfaction))
def test_evaluation_records_satisfaction_and_archives(satisfaction: Satisfaction) -> None:
    """评价归档 with satisfied / basically satisfied / dissatisfied closes the case."""
    driver = drive_to(new_case(), Step.ARCHIVE)
    events = driver.do(EvaluateAndArchive(actor="duty-a", satisfaction=satisfaction))
    assert driver.types(events) == ["case.archived"]
    case = driver.case
    assert case.status is CaseStatus.ARCHIVED
    assert case.closure is not None
    assert case.closure.satisfaction is satisfaction
    assert case.closure.resolution_tier is Tier.COUNTY


def test_archiving_without_satisfaction_needs_a_reason() -> None:
    """No verdict from the reporter (anonymous, unreachable) must be explained."""
    driver = drive_to(new_case(), Step.ARCHIVE)
    refused(driver, EvaluateAndArchive(actor="duty-a", satisfaction=None), "reason")
    driver.do(EvaluateAndArchive(actor="duty-a", satisfaction=None, reason="电话无人接听"))
    assert driver.case.status is CaseStatus.ARCHIVED


@pytest.mark.parametrize(
    "step", [Step.INTAKE, Step.REPORT, Step.DISPATCH, Step.FEEDBACK, Step.VERIFY]
)
def test_no_case_is_archived_before_verification(step: Step) -> None:
    """评价归档 is only a move once verification passed."""
    driver = drive_to(new_case(), step)
    refused(
        driver,
        EvaluateAndArchive(actor="duty-a", satisfaction=Satisfaction.SATISFIED),
        "not a move",
    )


# --- cancel, merge, link, split -------------------------------------------------------------


@pytest.mark.parametrize("step", [Step.REPORT, Step.DISPATCH, Step.FEEDBACK])
def test_cancel_closes_a_false_report_and_stands_units_down(step: Step) -> None:
    """撤销 with a reason closes the case; units still out are released."""
    driver = drive_to(new_case(), step)
    driver.do(Cancel(actor="duty-a", reason="虚假报警"))
    case = driver.case
    assert case.status is CaseStatus.CANCELLED and case.deadline is None
    assert case.active_assignments == ()
    assert case.closure is not None and case.closure.reason == "虚假报警"


@pytest.mark.parametrize("step", [Step.INTAKE, Step.VERIFY, Step.ARCHIVE])
def test_cancel_is_refused_at_intake_and_after_handling(step: Step) -> None:
    """At intake a false report is rejected; verified work is not cancelled."""
    refused(drive_to(new_case(), step), Cancel(actor="duty-a", reason="x"), "not a move")


def test_cancel_needs_a_reason() -> None:
    """A cancellation must say why."""
    refused(drive_to(new_case(), Step.REPORT), Cancel(actor="duty-a"), "reason")


@pytest.mark.parametrize("step", [Step.INTAKE, Step.REPORT])
def test_merge_into_closes_a_duplicate_before_dispatch(step: Step) -> None:
    """合并: a duplicate closes as merged and names the case it joined."""
    driver = drive_to(new_case(), step)
    driver.do(MergeInto(actor="duty-a", target_case_id=7, target_case_no="320118-20261126-0007"))
    case = driver.case
    assert case.status is CaseStatus.MERGED
    assert case.closure is not None
    assert (case.closure.merged_into_case_id, case.closure.merged_into_case_no) == (
        7,
        "320118-20261126-0007",
    )


def test_merge_is_refused_once_units_are_out_or_into_itself() -> None:
    """A dispatched case is not a duplicate to fold away; nor is a case its own target."""
    refused(
        drive_to(new_case(), Step.DISPATCH),
        MergeInto(actor="d", target_case_id=7, target_case_no="n"),
        "not a move",
    )
    refused(new_case(), MergeInto(actor="d", target_case_id=42, target_case_no="n"), "itself")


def test_linked_reports_are_added_once_each() -> None:
    """关联: each further report is attached once, carrying its source_id."""
    driver = drive_to(new_case(), Step.DISPATCH)
    second = report("110-20261126-000102", reported_at=T0 + timedelta(seconds=45))
    events = driver.do(LinkReports(actor="system:ingest", reports=(second,), how=LinkKind.AUTO))
    assert driver.types(events) == ["case.report_linked"]
    assert to_json(events[0])["source_id"] == "110-20261126-000102"
    assert (driver.case.report_count, driver.case.last_report_at) == (2, second.reported_at)
    refused(driver, LinkReports(actor="x", reports=(second, second)), "already part of this case")
    refused(driver, LinkReports(actor="x", reports=(report(),)), "already part of this case")
    refused(driver, LinkReports(actor="x", reports=()), "no report")


def test_unlink_splits_off_a_linked_report_but_never_the_first() -> None:
    """拆分 removes a linked report; the report that opened the case stays."""
    driver = drive_to(new_case(), Step.REPORT)
    driver.do(LinkReports(actor="duty-a", reports=(report("12345-1"),)))
    refused(driver, UnlinkReport(actor="d", source_id=driver.case.source_id, reason="x"), "opened")
    driver.do(UnlinkReport(actor="duty-a", source_id="12345-1", reason="另一起事件"))
    assert driver.case.report_count == 1
    refused(driver, UnlinkReport(actor="d", source_id="nope", reason="x"), "not linked")


# --- errors, events, replay -----------------------------------------------------------------


def test_an_illegal_move_names_the_case_the_step_and_the_move() -> None:
    """The error says which case, at which step, which move, and why."""
    error = refused(new_case(), Verify(actor="verifier", passed=True), "verify_pass", "统一受理")
    assert (error.case_no, error.step, error.move) == (
        "320118-20261126-0042",
        Step.INTAKE,
        Move.VERIFY_PASS,
    )
    assert "allowed: accept" in str(error)


def full_loop() -> Driver:
    """A case through every step with a reopen, a hand-over and a linked report."""
    driver = new_case(owning_tier=Tier.TOWNSHIP)
    driver.do(Accept(actor="duty-a"))
    driver.do(LinkReports(actor="system:ingest", reports=(report("110-2"),), how=LinkKind.AUTO))
    driver.do(HandOver(actor="duty-a", to_owner="duty-b", reason="交接班"))
    driver.do(Dispatch(actor="duty-b", targets=(unit("car-1"), department("dept-j"))))
    driver.do(Acknowledge(actor="field-1", unit_id="car-1"))
    driver.do(Arrive(actor="field-1", unit_id="car-1"))
    driver.do(Acknowledge(actor="clerk", unit_id="dept-j"))
    driver.do(ReportFeedback(actor="clerk", unit_id="dept-j", text="已调解", completed=True))
    driver.do(ReportFeedback(actor="field-1", unit_id="car-1", text="已劝离", completed=True))
    driver.do(Verify(actor="verifier", passed=False, reason="双方仍有争执"))
    driver.do(Acknowledge(actor="clerk", unit_id="dept-j"))
    driver.do(ReportFeedback(actor="clerk", unit_id="dept-j", text="达成协议", completed=True))
    driver.do(Acknowledge(actor="field-1", unit_id="car-1"))
    driver.do(Arrive(actor="field-1", unit_id="car-1"))
    driver.do(ReportFeedback(actor="field-1", unit_id="car-1", text="回访无异常", completed=True))
    driver.do(Verify(actor="verifier", passed=True))
    driver.do(EvaluateAndArchive(actor="duty-b", satisfaction=Satisfaction.BASICALLY_SATISFIED))
    return driver


def test_the_full_loop_archives_with_every_event_in_sequence() -> None:
    """Seq runs 1..n without gap, every event starts where the previous one ended."""
    driver = full_loop()
    case = driver.case
    assert case.status is CaseStatus.ARCHIVED and case.counters.reopens == 1
    assert [e.seq for e in driver.log] == list(range(1, len(driver.log) + 1))
    for previous, event in zip(driver.log, driver.log[1:], strict=False):
        assert event.step_before is previous.step_after
    assert invariant_violations(case) == ()


def to_json(event: Event) -> dict[str, Any]:
    """The event's log document as plain data."""
    document: dict[str, Any] = json.loads(event_json(event))
    return document


def test_replay_rebuilds_the_same_case_also_after_a_json_round_trip() -> None:
    """replay(events) equals the case apply built, even from JSON and from log rows."""
    driver = full_loop()
    assert replay(driver.log) == driver.case
    from_text = [event_from_json(event_json(e)) for e in driver.log]
    assert from_text == driver.log
    assert replay(event_from_row(event_to_row(e)) for e in driver.log) == driver.case


def test_replay_refuses_a_log_with_a_gap_a_repeat_or_a_stranger() -> None:
    """A lost, repeated or foreign event makes the log unreadable, not silently different."""
    log = full_loop().log
    with pytest.raises(EventLogError, match="gap or repeat"):
        replay([*log[:3], *log[4:]])
    with pytest.raises(EventLogError, match="gap or repeat"):
        replay([*log[:3], log[2], *log[3:]])
    with pytest.raises(EventLogError, match=r"case\.opened"):
        replay(log[1:])
    with pytest.raises(EventLogError, match="no events"):
        replay([])
    other = new_case(case_id=43).log
    with pytest.raises(EventLogError):
        replay([*log[:2], *other])


def test_events_carry_the_contract_fields_and_source_ids() -> None:
    """Every event JSON has schema, type, at, actor, case_id; opened carries source_id."""
    driver = full_loop()
    for event in driver.log:
        document = to_json(event)
        assert document["schema"] == "event/1"
        assert document["type"] == event.type.value
        assert {"at", "actor", "case_id", "step_before", "step_after"} <= document.keys()
        json.dumps(document)
    assert to_json(driver.log[0])["source_id"] == "110-20261126-000101"


def test_public_events_mask_the_reporter() -> None:
    """The events stream shows 王** and 139****4567, never the full personal data."""
    opened = new_case().log[0]
    public = public_event_json(opened).decode()
    assert "13951234567" not in public and "王先生" not in public
    assert "139****4567" in public and "王**" in public
    assert "13951234567" in event_json(opened).decode()


def test_payload_fields_never_shadow_the_envelope() -> None:
    """Flat event JSON stays unambiguous: no payload field reuses an envelope name."""
    for payload_type in PAYLOAD_TYPES.values():
        names = set(payload_type.__struct_fields__)
        assert not names & set(ENVELOPE_FIELDS), payload_type


def test_from_json_refuses_unknown_types_fields_and_schemas() -> None:
    """Malformed event documents raise EventDecodeError instead of guessing."""
    good = to_json(new_case().log[0])
    for broken in (
        {**good, "schema": "event/0"},
        {**good, "type": "case.exploded"},
        {**good, "surprise": 1},
        {k: v for k, v in good.items() if k != "actor"},
        {**good, "at": "2026-11-26T13:14:05"},
        {**good, "severity": "1"},
    ):
        with pytest.raises(EventDecodeError):
            event_from_json(json.dumps(broken))


def test_a_case_row_round_trips_through_its_snapshot() -> None:
    """case_to_row / case_from_row give back the same case; the columns match it."""
    case = full_loop().case
    row = case_to_row(case)
    assert case_from_row(row) == case
    assert (row.status, row.step, row.reopen_count, row.resolution_tier, row.satisfaction) == (
        "archived",
        "archive",
        1,
        "township",
        "basically_satisfied",
    )


def test_apply_never_changes_the_input_case() -> None:
    """The case passed in is the same afterwards (frozen, shared parts untouched)."""
    driver = drive_to(new_case(), Step.FEEDBACK)
    before = driver.case
    snapshot = copy.deepcopy(before)
    after, _ = apply(before, ReportFeedback(actor="f", unit_id="car-1", text="t"), driver.now)
    assert before == snapshot and after != before


# --- the table itself ----------------------------------------------------------------------


def test_every_move_and_every_step_appears_in_the_table() -> None:
    """No move is unreachable and every step has its way out."""
    assert {t.move for t in TRANSITIONS} == set(Move)
    assert {t.step for t in TRANSITIONS} == set(Step)
    assert len({(t.step, t.move) for t in TRANSITIONS}) == len(TRANSITIONS)


def test_docs_show_exactly_the_transition_table() -> None:
    """docs/lifecycle.md's matrix says exactly what TRANSITIONS says, cell by cell."""
    text = DOCS.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("| move")]
    assert len(lines) == 1, "one matrix header"
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    columns = [Step(cell.split("`")[1]) for cell in header[1:]]
    rows = set()
    body = text.split(lines[0], 1)[1].splitlines()[2:]
    for line in body:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        move = Move(cells[0].split("`")[1])
        for step, cell in zip(columns, cells[1:], strict=True):
            if cell == "·":
                continue
            if cell.startswith("**"):
                rows.add((step, move, (step,), CaseStatus(cell.strip("*"))))
            elif cell == "=":
                rows.add((step, move, (step,), CaseStatus.OPEN))
            else:
                targets = tuple(Step(part) for part in cell.split("`")[1::2])
                rows.add((step, move, targets, CaseStatus.OPEN))
    assert rows == {(t.step, t.move, t.to_steps, t.to_status) for t in TRANSITIONS}
    for step, name in STEP_NAMES_ZH.items():
        assert f"`{step.value}` {name}" in text
