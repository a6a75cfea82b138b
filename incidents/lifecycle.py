"""The six-step closed loop (六步闭环) as a pure state machine over frozen cases.

`apply(case, command, now)` checks the command against the explicit `TRANSITIONS` table and
the case's state, and returns the new case with the events that made it; an illegal move
raises `IllegalMove` and leaves nothing changed. Every state change happens in `evolve`, one
event at a time, so `replay(events)` rebuilds exactly the case `apply` returned.

Store every event `apply` returns, in order, in the same transaction as the new case row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import NoReturn, assert_never

from msgspec.structs import replace

from incidents.case import (
    CLOSED_STATUSES,
    OWNING_TIERS,
    Assignment,
    AssignmentKind,
    AssignmentStatus,
    Case,
    CaseStatus,
    Closure,
    Feedback,
    ForcesRequest,
    Handover,
    Jurisdiction,
    Report,
    tier_above,
    tier_rank,
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
    RecordOverdue,
    Reject,
    ReportFeedback,
    RequestForces,
    StandDown,
    UnlinkReport,
    Verify,
)
from incidents.deadlines import DEFAULT_DEADLINE_RULES, DeadlineRules
from incidents.events import (
    CaseAccepted,
    CaseArchived,
    CaseCancelled,
    CaseEscalated,
    CaseHandedDown,
    CaseMerged,
    CaseOpened,
    CaseOverdue,
    CaseRejected,
    CaseReopened,
    CaseVerified,
    Event,
    FeedbackReported,
    ForcesRequested,
    HandlingCompleted,
    HandlingStarted,
    OwnerHandedOver,
    Payload,
    ReportLinked,
    ReportUnlinked,
    UnitAcknowledged,
    UnitArrived,
    UnitDispatched,
    UnitStoodDown,
)
from incidents.vocabulary import DEFAULT_SEVERITY, Channel, Step, Tier


class Move(StrEnum):
    """Every kind of move a command makes; the rows of the transition table."""

    ACCEPT = "accept"
    REJECT = "reject"
    ESCALATE = "escalate"
    HAND_DOWN = "hand_down"
    HAND_OVER = "hand_over"
    DISPATCH = "dispatch"
    ACKNOWLEDGE = "acknowledge"
    ARRIVE = "arrive"
    REPORT_FEEDBACK = "report_feedback"
    REQUEST_FORCES = "request_forces"
    STAND_DOWN = "stand_down"
    VERIFY_PASS = "verify_pass"
    VERIFY_FAIL = "verify_fail"
    EVALUATE_AND_ARCHIVE = "evaluate_and_archive"
    CANCEL = "cancel"
    MERGE_INTO = "merge_into"
    LINK_REPORTS = "link_reports"
    UNLINK_REPORT = "unlink_report"
    RECORD_OVERDUE = "record_overdue"


# The official names of the six steps (六步闭环), as the seed and every form call them.
STEP_NAMES_ZH: dict[Step, str] = {
    Step.INTAKE: "统一受理",
    Step.REPORT: "发现上报",
    Step.DISPATCH: "指挥派遣",
    Step.FEEDBACK: "处置反馈",
    Step.VERIFY: "任务核查",
    Step.ARCHIVE: "评价归档",
}


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: at `step`, `move` leads to one of `to_steps` with `to_status`."""

    step: Step
    move: Move
    to_steps: tuple[Step, ...]
    to_status: CaseStatus = CaseStatus.OPEN
    note: str = ""


_I, _R, _D, _F, _V, _A = (
    Step.INTAKE,
    Step.REPORT,
    Step.DISPATCH,
    Step.FEEDBACK,
    Step.VERIFY,
    Step.ARCHIVE,
)


def _side_paths(step: Step, *moves: Move) -> tuple[Transition, ...]:
    """Moves that leave the step as it is (tier changes, reports, overdue records …)."""
    return tuple(Transition(step, move, (step,)) for move in moves)


TRANSITIONS: tuple[Transition, ...] = (
    # 统一受理 intake: take it, turn it away, or fold it into a case that already exists.
    Transition(_I, Move.ACCEPT, (_R,), note="the actor becomes first-responsible owner"),
    Transition(_I, Move.REJECT, (_I,), CaseStatus.REJECTED, "reason required"),
    Transition(_I, Move.MERGE_INTO, (_I,), CaseStatus.MERGED, "its reports join the target"),
    *_side_paths(
        _I, Move.ESCALATE, Move.HAND_DOWN, Move.LINK_REPORTS, Move.UNLINK_REPORT,
        Move.RECORD_OVERDUE,
    ),
    # 发现上报 accepted, being routed at the owning tier.
    Transition(_R, Move.DISPATCH, (_D,), note="one or more units or departments"),
    Transition(_R, Move.CANCEL, (_R,), CaseStatus.CANCELLED, "false report; reason required"),
    Transition(_R, Move.MERGE_INTO, (_R,), CaseStatus.MERGED, "its reports join the target"),
    *_side_paths(
        _R, Move.ESCALATE, Move.HAND_DOWN, Move.HAND_OVER, Move.LINK_REPORTS,
        Move.UNLINK_REPORT, Move.RECORD_OVERDUE,
    ),
    # 指挥派遣 dispatched, nobody on the task yet.
    Transition(_D, Move.ACKNOWLEDGE, (_D, _F), note="a department that acknowledges starts"),
    Transition(_D, Move.ARRIVE, (_F,), note="the first unit on scene starts handling"),
    Transition(_D, Move.CANCEL, (_D,), CaseStatus.CANCELLED, "units still out stand down"),
    *_side_paths(
        _D, Move.DISPATCH, Move.STAND_DOWN, Move.REQUEST_FORCES, Move.ESCALATE,
        Move.HAND_DOWN, Move.HAND_OVER, Move.LINK_REPORTS, Move.UNLINK_REPORT,
        Move.RECORD_OVERDUE,
    ),
    # 处置反馈 handling; done when nobody is left on the task and someone completed it.
    Transition(_F, Move.REPORT_FEEDBACK, (_F, _V), note="the last completion goes to verify"),
    Transition(_F, Move.STAND_DOWN, (_F, _V), note="releasing the last active unit may too"),
    Transition(_F, Move.CANCEL, (_F,), CaseStatus.CANCELLED, "units still out stand down"),
    *_side_paths(
        _F, Move.DISPATCH, Move.ACKNOWLEDGE, Move.ARRIVE, Move.REQUEST_FORCES,
        Move.ESCALATE, Move.HAND_DOWN, Move.HAND_OVER, Move.LINK_REPORTS,
        Move.UNLINK_REPORT, Move.RECORD_OVERDUE,
    ),
    # 任务核查 verification by someone who did not handle it.
    Transition(_V, Move.VERIFY_PASS, (_A,), note="records the resolving tier"),
    Transition(_V, Move.VERIFY_FAIL, (_F,), note="reopened (counted), units re-tasked"),
    *_side_paths(
        _V, Move.ESCALATE, Move.HAND_OVER, Move.LINK_REPORTS, Move.UNLINK_REPORT,
        Move.RECORD_OVERDUE,
    ),
    # 评价归档 verified, waiting for the reporter's evaluation.
    Transition(_A, Move.EVALUATE_AND_ARCHIVE, (_A,), CaseStatus.ARCHIVED, "satisfaction"),
    *_side_paths(_A, Move.HAND_OVER),
)  # fmt: skip

TRANSITION_BY_MOVE = MappingProxyType({(t.step, t.move): t for t in TRANSITIONS})


class IllegalMove(Exception):
    """A command that the case's step or state does not allow; nothing was changed."""

    def __init__(self, case: Case, move: Move, why: str) -> None:
        self.case_id = case.case_id
        self.case_no = case.case_no
        self.step = case.step
        self.status = case.status
        self.move = move
        self.why = why
        where = f"step {case.step.value} ({STEP_NAMES_ZH[case.step]})"
        if case.status is not CaseStatus.OPEN:
            where += f", {case.status.value}"
        super().__init__(
            f"case {case.case_no} (#{case.case_id}) at {where}: cannot {move.value}: {why}"
        )


class EventLogError(ValueError):
    """An event log that cannot be replayed: gap, duplicate, other case, or no opening."""


def move_of(command: Command) -> Move:
    """Which row of the transition table a command asks for."""
    match command:
        case Accept():
            return Move.ACCEPT
        case Reject():
            return Move.REJECT
        case Escalate():
            return Move.ESCALATE
        case HandDown():
            return Move.HAND_DOWN
        case HandOver():
            return Move.HAND_OVER
        case Dispatch():
            return Move.DISPATCH
        case Acknowledge():
            return Move.ACKNOWLEDGE
        case Arrive():
            return Move.ARRIVE
        case ReportFeedback():
            return Move.REPORT_FEEDBACK
        case RequestForces():
            return Move.REQUEST_FORCES
        case StandDown():
            return Move.STAND_DOWN
        case Verify():
            return Move.VERIFY_PASS if command.passed else Move.VERIFY_FAIL
        case EvaluateAndArchive():
            return Move.EVALUATE_AND_ARCHIVE
        case Cancel():
            return Move.CANCEL
        case MergeInto():
            return Move.MERGE_INTO
        case LinkReports():
            return Move.LINK_REPORTS
        case UnlinkReport():
            return Move.UNLINK_REPORT
        case RecordOverdue():
            return Move.RECORD_OVERDUE
        case _:
            assert_never(command)


def allowed_moves(case: Case) -> tuple[Move, ...]:
    """Moves the table allows at the case's step (none once it is closed)."""
    if not case.is_open:
        return ()
    return tuple(t.move for t in TRANSITIONS if t.step is case.step)


def open_case(
    report: Report,
    *,
    case_id: int,
    case_no: str,
    jurisdiction: Jurisdiction,
    actor: str,
    now: datetime,
    owning_tier: Tier = Tier.COUNTY,
    split_from_case_id: int | None = None,
    reason: str | None = None,
    causation_id: str | None = None,
    rules: DeadlineRules = DEFAULT_DEADLINE_RULES,
) -> tuple[Case, list[Event]]:
    """Open a case at intake from an accepted report; emits `case.opened` (seq 1, version 1).

    `case_id` and `case_no` come from persistence; `owning_tier` is where it was received
    (see `default_intake_tier`). The acceptance clock starts at `now`.
    """
    now = _utc(now)
    owning_org = jurisdiction.code_at(owning_tier)
    if owning_tier not in OWNING_TIERS or owning_org is None:
        raise ValueError(f"a case cannot be owned at {owning_tier.value} for {jurisdiction}")
    severity = report.severity or DEFAULT_SEVERITY[report.category]
    event = Event(
        case_id=case_id,
        case_no=case_no,
        seq=1,
        version=1,
        at=now,
        actor=actor,
        reason=reason,
        causation_id=causation_id if causation_id is not None else report.source_id,
        step_before=None,
        step_after=Step.INTAKE,
        status_after=CaseStatus.OPEN,
        deadline=rules.deadline_for(Step.INTAKE, report.category, severity, now),
        payload=CaseOpened(
            source_id=report.source_id,
            channel=report.channel,
            category=report.category,
            severity=severity,
            summary=report.summary,
            location=report.location,
            reporter=report.reporter,
            reported_at=report.reported_at,
            jurisdiction=jurisdiction,
            owning_tier=owning_tier,
            owning_org=owning_org,
            split_from_case_id=split_from_case_id,
        ),
    )
    return evolve(None, event), [event]


def default_intake_tier(channel: Channel, jurisdiction: Jurisdiction) -> Tier:
    """Where a new report is taken: grid reports at their village, everything else at the county.

    The county centre runs the 110/12345/online/SOS/camera/petition lines; a walk-in taken at
    a township hall should pass `Tier.TOWNSHIP` to `open_case` instead.
    """
    if channel is Channel.GRID:
        for tier in (Tier.VILLAGE, Tier.TOWNSHIP):
            if jurisdiction.code_at(tier) is not None:
                return tier
    return Tier.COUNTY


def apply(
    case: Case,
    command: Command,
    now: datetime,
    *,
    rules: DeadlineRules = DEFAULT_DEADLINE_RULES,
) -> tuple[Case, list[Event]]:
    """Apply one command at `now`: the new case and its events (at least one), or IllegalMove.

    The events share the new `version` (old + 1) and continue the case's `seq` without gap.
    """
    now = _utc(now)
    move = move_of(command)
    if not case.is_open:
        raise IllegalMove(case, move, f"the case is closed ({case.status.value})")
    transition = TRANSITION_BY_MOVE.get((case.step, move))
    if transition is None:
        allowed = ", ".join(m.value for m in allowed_moves(case))
        raise IllegalMove(case, move, f"not a move at this step (allowed: {allowed})")
    emitter = _Emitter(case, command, move, now, rules)
    _decide(emitter, command)
    result = emitter.case
    if not emitter.events:
        raise AssertionError(f"{move.value} produced no event")
    if result.step not in transition.to_steps or result.status is not transition.to_status:
        raise AssertionError(
            f"{move.value} at {case.step.value} led to {result.step.value}/{result.status.value},"
            " outside the transition table"
        )
    return result, emitter.events


def replay(events: Iterable[Event]) -> Case:
    """Rebuild a case from its whole event log, oldest first; gaps and strays raise."""
    case: Case | None = None
    for event in events:
        case = evolve(case, event)
    if case is None:
        raise EventLogError("no events to replay")
    return case


class _Emitter:
    """Collects the events of one command, evolving the case after each."""

    def __init__(
        self, case: Case, command: Command, move: Move, now: datetime, rules: DeadlineRules
    ) -> None:
        self.case = case
        self.start = case
        self.command = command
        self.move = move
        self.now = now
        self.rules = rules
        self.events: list[Event] = []

    def fail(self, why: str) -> NoReturn:
        raise IllegalMove(self.start, self.move, why)

    def require_reason(self) -> str:
        reason = (self.command.reason or "").strip()
        if not reason:
            self.fail("a reason is required")
        return reason

    def emit(
        self,
        payload: Payload,
        *,
        step: Step | None = None,
        status: CaseStatus = CaseStatus.OPEN,
        mark_overdue_recorded: bool = False,
    ) -> None:
        before = self.case
        step_after = step if step is not None else before.step
        deadline = before.deadline
        if status in CLOSED_STATUSES:
            deadline = None
        elif step_after is not before.step:
            # Each step runs against its own clock, started when the case enters it.
            deadline = self.rules.deadline_for(
                step_after, before.category, before.severity, self.now
            )
        if mark_overdue_recorded and deadline is not None:
            deadline = replace(deadline, overdue_recorded=True)
        event = Event(
            case_id=before.case_id,
            case_no=before.case_no,
            seq=before.last_seq + 1,
            version=self.start.version + 1,
            at=self.now,
            actor=self.command.actor,
            reason=self.command.reason,
            causation_id=self.command.causation_id,
            step_before=before.step,
            step_after=step_after,
            status_after=status,
            deadline=deadline,
            payload=payload,
        )
        self.case = evolve(before, event)
        self.events.append(event)


def _decide(e: _Emitter, command: Command) -> None:
    match command:
        case Accept():
            e.emit(CaseAccepted(owner=command.actor), step=Step.REPORT)
        case Reject():
            e.require_reason()
            e.emit(CaseRejected(), status=CaseStatus.REJECTED)
        case Escalate():
            _escalate(e, command)
        case HandDown():
            _hand_down(e, command)
        case HandOver():
            _hand_over(e, command)
        case Dispatch():
            _dispatch(e, command)
        case Acknowledge():
            _acknowledge(e, command)
        case Arrive():
            _arrive(e, command)
        case ReportFeedback():
            _report_feedback(e, command)
        case RequestForces():
            _request_forces(e, command)
        case StandDown():
            _stand_down(e, command)
        case Verify():
            _verify(e, command)
        case EvaluateAndArchive():
            _evaluate_and_archive(e, command)
        case Cancel():
            e.require_reason()
            stood_down = tuple(a.assignment_no for a in e.case.active_assignments)
            e.emit(CaseCancelled(stood_down=stood_down), status=CaseStatus.CANCELLED)
        case MergeInto():
            if command.target_case_id == e.case.case_id:
                e.fail("a case cannot be merged into itself")
            e.emit(
                CaseMerged(
                    into_case_id=command.target_case_id, into_case_no=command.target_case_no
                ),
                status=CaseStatus.MERGED,
            )
        case LinkReports():
            _link_reports(e, command)
        case UnlinkReport():
            e.require_reason()
            if command.source_id == e.case.source_id:
                e.fail("the report that opened the case cannot be split off")
            if e.case.report_count < 2:
                e.fail(f"report {command.source_id} is not linked to this case")
            e.emit(ReportUnlinked(source_id=command.source_id))
        case RecordOverdue():
            _record_overdue(e, command)
        case _:
            assert_never(command)


def _escalate(e: _Emitter, command: Escalate) -> None:
    e.require_reason()
    case = e.case
    target = command.to_tier if command.to_tier is not None else tier_above(case.owning_tier)
    if target is None:
        e.fail("the county is the top tier")
    if target not in OWNING_TIERS or tier_rank(target) >= tier_rank(case.owning_tier):
        e.fail(f"{target.value} is not above {case.owning_tier.value}")
    case = e.case
    e.emit(
        CaseEscalated(
            from_tier=case.owning_tier,
            from_org=case.owning_org,
            to_tier=target,
            to_org=_target_org(e, target),
        )
    )


def _hand_down(e: _Emitter, command: HandDown) -> None:
    e.require_reason()
    case = e.case
    allowed = {
        Tier.COUNTY: (Tier.TOWNSHIP, Tier.VILLAGE),
        Tier.TOWNSHIP: (Tier.VILLAGE,),
    }.get(case.owning_tier, ())
    if command.to_tier not in allowed:
        e.fail(f"{case.owning_tier.value} cannot hand down to {command.to_tier.value}")
    e.emit(
        CaseHandedDown(
            from_tier=case.owning_tier,
            from_org=case.owning_org,
            to_tier=command.to_tier,
            to_org=_target_org(e, command.to_tier),
        )
    )


def _target_org(e: _Emitter, target: Tier) -> str:
    to_org = e.case.jurisdiction.code_at(target)
    if to_org is None:
        e.fail(f"the case's location has no {target.value} to move it to")
    return to_org


def _hand_over(e: _Emitter, command: HandOver) -> None:
    e.require_reason()
    owner = e.case.owner
    if owner is None:
        e.fail("nobody owns the case yet")
    if command.actor != owner:
        e.fail(f"only the owner ({owner}) can hand the case over")
    to_owner = command.to_owner.strip()
    if not to_owner or to_owner == owner:
        e.fail("the new owner must be someone else")
    e.emit(OwnerHandedOver(from_owner=owner, to_owner=to_owner))


def _dispatch(e: _Emitter, command: Dispatch) -> None:
    if not command.targets:
        e.fail("nothing to dispatch")
    unit_ids = [t.unit_id for t in command.targets]
    if any(not u.strip() for u in unit_ids) or len(set(unit_ids)) != len(unit_ids):
        e.fail("each unit must be named once")
    busy = [u for u in unit_ids if e.case.active_assignment_of(u) is not None]
    if busy:
        e.fail(f"already on this case: {', '.join(busy)}")
    for target in command.targets:
        e.emit(
            UnitDispatched(
                assignment_no=len(e.case.assignments) + 1,
                unit_id=target.unit_id,
                kind=target.kind,
                name=target.name,
            ),
            step=Step.DISPATCH if e.case.step is Step.REPORT else None,
        )


def _active(e: _Emitter, unit_id: str) -> Assignment:
    assignment = e.case.active_assignment_of(unit_id)
    if assignment is None:
        e.fail(f"{unit_id} is not on this case")
    return assignment


def _acknowledge(e: _Emitter, command: Acknowledge) -> None:
    assignment = _active(e, command.unit_id)
    if assignment.status is not AssignmentStatus.DISPATCHED:
        e.fail(f"{command.unit_id} is already {assignment.status.value}")
    e.emit(UnitAcknowledged(assignment_no=assignment.assignment_no, unit_id=assignment.unit_id))
    # A department works from its desk: taking the task is where its handling starts.
    if e.case.step is Step.DISPATCH and assignment.kind is AssignmentKind.DEPARTMENT:
        e.emit(HandlingStarted(), step=Step.FEEDBACK)


def _arrive(e: _Emitter, command: Arrive) -> None:
    assignment = _active(e, command.unit_id)
    if assignment.status is AssignmentStatus.DISPATCHED:
        e.fail(f"{command.unit_id} must acknowledge before arriving")
    if assignment.status is not AssignmentStatus.ACKNOWLEDGED:
        e.fail(f"{command.unit_id} is already {assignment.status.value}")
    e.emit(UnitArrived(assignment_no=assignment.assignment_no, unit_id=assignment.unit_id))
    if e.case.step is Step.DISPATCH:
        e.emit(HandlingStarted(), step=Step.FEEDBACK)


def _report_feedback(e: _Emitter, command: ReportFeedback) -> None:
    assignment = _active(e, command.unit_id)
    if not assignment.is_on_task:
        e.fail(f"{command.unit_id} is {assignment.status.value}, not on the task")
    if not command.text.strip():
        e.fail("feedback needs a text")
    e.emit(
        FeedbackReported(
            assignment_no=assignment.assignment_no,
            unit_id=assignment.unit_id,
            text=command.text,
            photos=command.photos,
            completed=command.completed,
        )
    )
    _complete_if_done(e)


def _request_forces(e: _Emitter, command: RequestForces) -> None:
    if not command.needed.strip():
        e.fail("say what forces are needed")
    if command.unit_id is not None:
        _active(e, command.unit_id)
    e.emit(ForcesRequested(needed=command.needed, unit_id=command.unit_id))


def _stand_down(e: _Emitter, command: StandDown) -> None:
    e.require_reason()
    assignment = _active(e, command.unit_id)
    e.emit(UnitStoodDown(assignment_no=assignment.assignment_no, unit_id=assignment.unit_id))
    _complete_if_done(e)


def _complete_if_done(e: _Emitter) -> None:
    """Handling is done when nobody is left on the task and someone completed this round."""
    case = e.case
    if case.step is not Step.FEEDBACK or case.active_assignments:
        return
    handling_round = case.counters.reopens
    if any(f.completed and f.handling_round == handling_round for f in case.feedback):
        e.emit(HandlingCompleted(), step=Step.VERIFY)


def _verify(e: _Emitter, command: Verify) -> None:
    case = e.case
    if command.actor in case.handlers:
        e.fail(f"{command.actor} handled this case; someone else must verify it")
    if command.passed:
        e.emit(CaseVerified(resolution_tier=case.owning_tier), step=Step.ARCHIVE)
        return
    e.require_reason()
    latest: dict[str, int] = {}
    for assignment in case.assignments:
        if assignment.status is AssignmentStatus.COMPLETED:
            latest[assignment.unit_id] = assignment.assignment_no
    e.emit(CaseReopened(retasked=tuple(sorted(latest.values()))), step=Step.FEEDBACK)


def _evaluate_and_archive(e: _Emitter, command: EvaluateAndArchive) -> None:
    if command.satisfaction is None:
        e.require_reason()
    resolution_tier = e.case.resolution_tier
    if resolution_tier is None:
        e.fail("the case has no recorded resolution")
    e.emit(
        CaseArchived(
            satisfaction=command.satisfaction,
            resolution_tier=resolution_tier,
            comment=command.comment,
        ),
        status=CaseStatus.ARCHIVED,
    )


def _link_reports(e: _Emitter, command: LinkReports) -> None:
    if not command.reports:
        e.fail("no report to link")
    # Whether a report already belongs to some case is the store's key (case_reports); here
    # only what the command and the case themselves show.
    seen = {e.case.source_id}
    for report in command.reports:
        if report.source_id in seen:
            e.fail(f"report {report.source_id} is already part of this case")
        seen.add(report.source_id)
    for report in command.reports:
        e.emit(
            ReportLinked(
                source_id=report.source_id,
                channel=report.channel,
                summary=report.summary,
                location=report.location,
                reported_at=report.reported_at,
                reporter=report.reporter,
                how=command.how,
                merged_from_case_id=command.merged_from_case_id,
            )
        )


def _record_overdue(e: _Emitter, command: RecordOverdue) -> None:
    case = e.case
    deadline = case.deadline
    if deadline is None or deadline.kind is not command.kind or deadline.due_at != command.due_at:
        e.fail("the deadline named is no longer the case's deadline")
    if deadline.overdue_recorded:
        e.fail(f"the {deadline.kind.value} deadline miss is already recorded")
    if not e.now > deadline.due_at:
        e.fail(f"the {deadline.kind.value} deadline is not yet past")
    e.emit(
        CaseOverdue(kind=deadline.kind, due_at=deadline.due_at, overdue_by=e.now - deadline.due_at),
        mark_overdue_recorded=True,
    )
    target = tier_above(case.owning_tier)
    to_org = case.jurisdiction.code_at(target) if target is not None else None
    if target is not None and to_org is not None:
        e.emit(
            CaseEscalated(
                from_tier=case.owning_tier,
                from_org=case.owning_org,
                to_tier=target,
                to_org=to_org,
                auto=True,
            )
        )


def evolve(case: Case | None, event: Event) -> Case:
    """The case after one event; the only place a case's state changes."""
    payload = event.payload
    if case is None:
        if not isinstance(payload, CaseOpened) or event.seq != 1:
            raise EventLogError(f"case #{event.case_id}: the log must start with case.opened")
        return _opened(event, payload)
    if event.case_id != case.case_id:
        raise EventLogError(f"event of case #{event.case_id} in the log of #{case.case_id}")
    if event.seq != case.last_seq + 1:
        raise EventLogError(
            f"case {case.case_no}: event seq {event.seq} after {case.last_seq} (gap or repeat)"
        )
    if event.version not in (case.version, case.version + 1):
        raise EventLogError(f"case {case.case_no}: version {event.version} after {case.version}")
    if event.step_before is not case.step:
        raise EventLogError(
            f"case {case.case_no}: event {event.seq} starts at {event.step_before}, "
            f"the case is at {case.step.value}"
        )
    at = event.at
    case = replace(
        case,
        step=event.step_after,
        status=event.status_after,
        deadline=event.deadline,
        version=event.version,
        last_seq=event.seq,
        step_entered_at=at if event.step_after is not case.step else case.step_entered_at,
    )
    counters = case.counters
    match payload:
        case CaseOpened():
            raise EventLogError(f"case {case.case_no}: opened twice")
        case CaseAccepted():
            return replace(case, owner=payload.owner, accepted_by=payload.owner, accepted_at=at)
        case CaseRejected() | CaseCancelled() | CaseMerged() | CaseArchived():
            return _closed(case, event, payload)
        case CaseEscalated():
            return replace(
                case,
                owning_tier=payload.to_tier,
                owning_org=payload.to_org,
                counters=replace(
                    counters,
                    escalations=counters.escalations + 1,
                    auto_escalations=counters.auto_escalations + int(payload.auto),
                ),
            )
        case CaseHandedDown():
            return replace(
                case,
                owning_tier=payload.to_tier,
                owning_org=payload.to_org,
                counters=replace(counters, hand_downs=counters.hand_downs + 1),
            )
        case OwnerHandedOver():
            handover = Handover(
                from_owner=payload.from_owner,
                to_owner=payload.to_owner,
                by=event.actor,
                at=at,
                reason=event.reason or "",
            )
            return replace(
                case,
                owner=payload.to_owner,
                handovers=(*case.handovers, handover),
                counters=replace(counters, handovers=counters.handovers + 1),
            )
        case UnitDispatched():
            assignment = Assignment(
                assignment_no=payload.assignment_no,
                unit_id=payload.unit_id,
                kind=payload.kind,
                name=payload.name,
                status=AssignmentStatus.DISPATCHED,
                dispatched_at=at,
                dispatched_by=event.actor,
            )
            return replace(case, assignments=(*case.assignments, assignment))
        case UnitAcknowledged():
            return _update_assignment(
                case,
                payload.assignment_no,
                lambda a: replace(a, status=AssignmentStatus.ACKNOWLEDGED, acknowledged_at=at),
            )
        case UnitArrived():
            return _update_assignment(
                case,
                payload.assignment_no,
                lambda a: replace(a, status=AssignmentStatus.ARRIVED, arrived_at=at),
            )
        case HandlingStarted() | HandlingCompleted():
            return case
        case FeedbackReported():
            feedback = Feedback(
                assignment_no=payload.assignment_no,
                unit_id=payload.unit_id,
                text=payload.text,
                photos=payload.photos,
                completed=payload.completed,
                by=event.actor,
                at=at,
                handling_round=counters.reopens,
            )
            case = replace(
                case,
                feedback=(*case.feedback, feedback),
                handlers=case.handlers | {event.actor},
            )
            if not payload.completed:
                return case
            return _update_assignment(
                case,
                payload.assignment_no,
                lambda a: replace(a, status=AssignmentStatus.COMPLETED, finished_at=at),
            )
        case ForcesRequested():
            request = ForcesRequest(
                unit_id=payload.unit_id, needed=payload.needed, by=event.actor, at=at
            )
            return replace(
                case,
                forces_requests=(*case.forces_requests, request),
                counters=replace(counters, forces_requests=counters.forces_requests + 1),
            )
        case UnitStoodDown():
            return _stand_down_assignments(case, (payload.assignment_no,), at)
        case CaseVerified():
            return replace(
                case,
                verified_by=event.actor,
                verified_at=at,
                resolution_tier=payload.resolution_tier,
            )
        case CaseReopened():
            retasked = set(payload.retasked)
            return replace(
                case,
                assignments=tuple(
                    replace(
                        a,
                        status=AssignmentStatus.DISPATCHED,
                        dispatched_at=at,
                        dispatched_by=event.actor,
                        acknowledged_at=None,
                        arrived_at=None,
                        finished_at=None,
                    )
                    if a.assignment_no in retasked
                    else a
                    for a in case.assignments
                ),
                counters=replace(counters, reopens=counters.reopens + 1),
            )
        case ReportLinked():
            latest = case.latest_report_at
            return replace(
                case,
                report_count=case.report_count + 1,
                latest_report_at=payload.reported_at
                if latest is None
                else max(latest, payload.reported_at),
            )
        case ReportUnlinked():
            # The merge window keeps running from the latest report ever linked: a split-off
            # report was still a call about this place at that time.
            return replace(case, report_count=case.report_count - 1)
        case CaseOverdue():
            return replace(case, counters=replace(counters, overdue=counters.overdue + 1))
        case _:
            assert_never(payload)


def _opened(event: Event, payload: CaseOpened) -> Case:
    return Case(
        case_id=event.case_id,
        case_no=event.case_no,
        source_id=payload.source_id,
        channel=payload.channel,
        category=payload.category,
        severity=payload.severity,
        summary=payload.summary,
        location=payload.location,
        reporter=payload.reporter,
        reported_at=payload.reported_at,
        opened_at=event.at,
        jurisdiction=payload.jurisdiction,
        owning_tier=payload.owning_tier,
        owning_org=payload.owning_org,
        step=event.step_after,
        status=event.status_after,
        step_entered_at=event.at,
        deadline=event.deadline,
        version=event.version,
        last_seq=event.seq,
        split_from_case_id=payload.split_from_case_id,
    )


def _closed(
    case: Case, event: Event, payload: CaseRejected | CaseCancelled | CaseMerged | CaseArchived
) -> Case:
    closure = Closure(outcome=event.status_after, at=event.at, by=event.actor, reason=event.reason)
    match payload:
        case CaseCancelled():
            case = _stand_down_assignments(case, payload.stood_down, event.at)
        case CaseMerged():
            closure = replace(
                closure,
                merged_into_case_id=payload.into_case_id,
                merged_into_case_no=payload.into_case_no,
            )
        case CaseArchived():
            closure = replace(
                closure,
                satisfaction=payload.satisfaction,
                comment=payload.comment,
                resolution_tier=payload.resolution_tier,
            )
        case CaseRejected():
            pass
    return replace(case, closure=closure)


def _update_assignment(
    case: Case, assignment_no: int, change: Callable[[Assignment], Assignment]
) -> Case:
    if not any(a.assignment_no == assignment_no for a in case.assignments):
        raise EventLogError(f"case {case.case_no}: no assignment {assignment_no}")
    return replace(
        case,
        assignments=tuple(
            change(a) if a.assignment_no == assignment_no else a for a in case.assignments
        ),
    )


def _stand_down_assignments(case: Case, numbers: Iterable[int], at: datetime) -> Case:
    wanted = set(numbers)
    return replace(
        case,
        assignments=tuple(
            replace(a, status=AssignmentStatus.STOOD_DOWN, finished_at=at)
            if a.assignment_no in wanted
            else a
            for a in case.assignments
        ),
    )


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(UTC)


def invariant_violations(case: Case) -> tuple[str, ...]:
    """Rules every reachable case keeps; empty means the state is valid (used by the tests)."""
    problems: list[str] = []

    def check(ok: bool, rule: str) -> None:
        if not ok:
            problems.append(rule)

    active = case.active_assignments
    completed = [a for a in case.assignments if a.status is AssignmentStatus.COMPLETED]
    check(case.owning_tier in OWNING_TIERS, "owned at county, township or village")
    check(case.jurisdiction.code_at(case.owning_tier) == case.owning_org, "org matches tier")
    check(case.version >= 1 and case.last_seq >= case.version, "seq counts at least versions")
    check(case.is_open == (case.closure is None), "a closure exactly when the case is closed")
    check(case.is_open or case.deadline is None, "no deadline once closed")
    check(
        not case.is_open or (case.deadline is None) == (case.step is Step.ARCHIVE),
        "an open case runs against a deadline until it is verified",
    )
    if case.deadline is not None:
        check(case.deadline.warn_at <= case.deadline.due_at, "warning before the deadline")
    check((case.owner is None) == (case.accepted_by is None), "an owner exactly once accepted")
    check(case.step is Step.INTAKE or case.accepted_by is not None, "past intake means accepted")
    if case.handovers:
        check(case.handovers[-1].to_owner == case.owner, "the last hand-over names the owner")
    check(case.counters.handovers == len(case.handovers), "hand-overs are counted")
    check(
        case.step not in (Step.DISPATCH, Step.FEEDBACK, Step.VERIFY, Step.ARCHIVE)
        or bool(case.assignments),
        "dispatched cases have assignments",
    )
    check(
        case.step not in (Step.INTAKE, Step.REPORT) or not case.assignments,
        "nothing dispatched before the dispatch step",
    )
    if case.step in (Step.VERIFY, Step.ARCHIVE):
        check(not active and bool(completed), "verification only of completed work")
    if case.step is Step.ARCHIVE:
        check(case.verified_by is not None, "archive step only after verification")
        check(case.verified_by not in case.handlers, "verified by someone who did not handle it")
        check(case.resolution_tier is not None, "resolution tier recorded")
    if case.status is CaseStatus.ARCHIVED:
        check(case.step is Step.ARCHIVE, "archived only from the archive step")
        check(
            case.closure is not None and case.closure.resolution_tier == case.resolution_tier,
            "the closure keeps the resolving tier",
        )
    if case.status is CaseStatus.REJECTED:
        check(case.step is Step.INTAKE, "rejected only at intake")
    if case.status is CaseStatus.MERGED:
        check(case.step in (Step.INTAKE, Step.REPORT), "merged before dispatch")
        check(
            case.closure is not None and case.closure.merged_into_case_id is not None,
            "merged names its target",
        )
    if not case.is_open:
        check(not active, "no unit left on a closed case")
    if case.step in (Step.DISPATCH,):
        check(not any(a.is_on_task for a in active), "nobody on the task while still dispatching")
    numbers = [a.assignment_no for a in case.assignments]
    check(numbers == list(range(1, len(numbers) + 1)), "assignments numbered 1..n")
    units_active = [a.unit_id for a in active]
    check(len(units_active) == len(set(units_active)), "a unit is on a case at most once")
    check(case.report_count >= 1, "a case stands for at least its own report")
    check(
        case.latest_report_at is not None or case.report_count == 1,
        "a case with linked reports knows when the latest came in",
    )
    check(case.handlers == frozenset(f.by for f in case.feedback), "handlers are feedback authors")
    return tuple(p for p in problems if p)
