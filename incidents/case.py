"""The Case aggregate (事件) and its parts, all frozen: a case changes only by new events.

Every part is a frozen msgspec Struct: msgspec writes and reads the stored snapshot (JSON) and
`msgspec.structs.replace` makes the next state, both in C. The structs hold no cycles, so
they stay out of the cyclic garbage collector (`gc=False`).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum

import msgspec

from incidents.vocabulary import Category, Channel, Moment, Severity, Step, Tier


class CaseStatus(StrEnum):
    """Whether a case is still moving through the loop, and how it left it."""

    OPEN = "open"
    ARCHIVED = "archived"  # 评价归档: verified, evaluated, closed
    REJECTED = "rejected"  # 不予受理: turned away at intake
    CANCELLED = "cancelled"  # 撤销: false report found later
    MERGED = "merged"  # 合并: a duplicate folded into another case


CLOSED_STATUSES = frozenset(
    {CaseStatus.ARCHIVED, CaseStatus.REJECTED, CaseStatus.CANCELLED, CaseStatus.MERGED}
)


class DeadlineKind(StrEnum):
    """Which time limit (限时) a step runs against."""

    ACCEPTANCE = "acceptance"  # 受理时限
    DISPATCH = "dispatch"  # 派遣时限
    ARRIVAL = "arrival"  # 到场时限
    COMPLETION = "completion"  # 办结时限
    VERIFICATION = "verification"  # 核查时限


class AssignmentKind(StrEnum):
    """What was dispatched: a moving force, or a department that handles from its desk."""

    UNIT = "unit"  # 处置力量: patrol car, team, person
    DEPARTMENT = "department"  # 职能部门


class AssignmentStatus(StrEnum):
    """Where one dispatched unit or department is with its task."""

    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    STOOD_DOWN = "stood_down"


ACTIVE_ASSIGNMENT = frozenset(
    {AssignmentStatus.DISPATCHED, AssignmentStatus.ACKNOWLEDGED, AssignmentStatus.ARRIVED}
)


class Satisfaction(StrEnum):
    """The reporter's verdict at evaluation (群众满意度)."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


class LinkKind(StrEnum):
    """How a further report came to be attached to a case."""

    AUTO = "auto"  # the merge rule matched at intake
    MANUAL = "manual"  # an officer attached it
    MERGED = "merged"  # it came with a duplicate case merged into this one


# Top down; the owning tier of a case is one of the first three, never a grid.
TIER_ORDER: tuple[Tier, ...] = (Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE, Tier.GRID)
OWNING_TIERS = frozenset({Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE})


def tier_rank(tier: Tier) -> int:
    """0 for the county, growing downwards."""
    return TIER_ORDER.index(tier)


def tier_above(tier: Tier) -> Tier | None:
    """The next tier up, or None at the county."""
    rank = tier_rank(tier)
    return TIER_ORDER[rank - 1] if rank > 0 else None


class Location(msgspec.Struct, frozen=True, gc=False):
    """A WGS-84 point with the address as reported."""

    lon: float
    lat: float
    address: str | None = None


class Reporter(msgspec.Struct, frozen=True, gc=False):
    """Who reported: personal data, shown masked on shared screens."""

    name: str | None = None
    phone: str | None = None

    def masked(self) -> Reporter:
        """The same reporter as a shared screen may show it (王**, 139****4567)."""
        return Reporter(name=mask_name(self.name), phone=mask_phone(self.phone))


class Jurisdiction(msgspec.Struct, frozen=True, gc=False):
    """Where the case is: codes of county → township → village → grid."""

    county_code: str
    township_code: str | None = None
    village_code: str | None = None
    grid_code: str | None = None
    inside_county: bool = True

    def code_at(self, tier: Tier) -> str | None:
        """The code of this case's node at `tier`, if the location resolved that deep."""
        match tier:
            case Tier.COUNTY:
                return self.county_code
            case Tier.TOWNSHIP:
                return self.township_code
            case Tier.VILLAGE:
                return self.village_code
            case Tier.GRID:
                return self.grid_code


class Report(msgspec.Struct, frozen=True, gc=False):
    """One accepted report from any channel, before or after it becomes (part of) a case."""

    source_id: str
    channel: Channel
    category: Category
    summary: str
    location: Location
    reported_at: Moment
    severity: Severity | None = None
    reporter: Reporter | None = None


class DispatchTarget(msgspec.Struct, frozen=True, gc=False):
    """A unit or department the commander sends."""

    unit_id: str
    kind: AssignmentKind = AssignmentKind.UNIT
    name: str = ""


class Assignment(msgspec.Struct, frozen=True, gc=False):
    """One dispatch of one unit or department to this case, and how far it has got."""

    assignment_no: int
    unit_id: str
    kind: AssignmentKind
    name: str
    status: AssignmentStatus
    dispatched_at: Moment
    dispatched_by: str
    acknowledged_at: Moment | None = None
    arrived_at: Moment | None = None
    finished_at: Moment | None = None

    @property
    def is_active(self) -> bool:
        """Still on the task (not completed, not stood down)."""
        return self.status in ACTIVE_ASSIGNMENT

    @property
    def is_on_task(self) -> bool:
        """Able to report feedback: a unit on scene, or a department that took the task."""
        if self.kind is AssignmentKind.UNIT:
            return self.status is AssignmentStatus.ARRIVED
        return self.status in (AssignmentStatus.ACKNOWLEDGED, AssignmentStatus.ARRIVED)


class Feedback(msgspec.Struct, frozen=True, gc=False):
    """What a handler reported from the task (处置反馈): text and photo references."""

    assignment_no: int
    unit_id: str
    text: str
    photos: tuple[str, ...]
    completed: bool
    by: str
    at: Moment
    handling_round: int  # 0 before any reopen, then the reopen count when reported


class Handover(msgspec.Struct, frozen=True, gc=False):
    """One explicit change of the first-responsible owner (首问责任人)."""

    from_owner: str
    to_owner: str
    by: str
    at: Moment
    reason: str


class ForcesRequest(msgspec.Struct, frozen=True, gc=False):
    """A call from the field for more forces (请求增援)."""

    unit_id: str | None
    needed: str
    by: str
    at: Moment


class Deadline(msgspec.Struct, frozen=True, gc=False):
    """The time limit of the current step; `warn_at` is when it becomes due soon."""

    kind: DeadlineKind
    started_at: Moment
    due_at: Moment
    warn_at: Moment
    overdue_recorded: bool = False  # set once the miss has been recorded (and escalated)


class HistoryCounters(msgspec.Struct, frozen=True, gc=False):
    """How often things happened to a case, for evaluation (考核)."""

    reopens: int = 0
    escalations: int = 0
    auto_escalations: int = 0
    hand_downs: int = 0
    handovers: int = 0
    overdue: int = 0
    forces_requests: int = 0


class Closure(msgspec.Struct, frozen=True, gc=False):
    """How and when a case left the loop."""

    outcome: CaseStatus
    at: Moment
    by: str
    reason: str | None = None
    satisfaction: Satisfaction | None = None
    comment: str | None = None
    resolution_tier: Tier | None = None
    merged_into_case_id: int | None = None
    merged_into_case_no: str | None = None


class Case(msgspec.Struct, frozen=True, gc=False):
    """One incident moving through the six-step closed loop; rebuilt from its events."""

    case_id: int
    case_no: str
    source_id: str
    channel: Channel
    category: Category
    severity: Severity
    summary: str
    location: Location
    reporter: Reporter | None
    reported_at: Moment
    opened_at: Moment
    jurisdiction: Jurisdiction
    owning_tier: Tier
    owning_org: str
    step: Step
    status: CaseStatus
    step_entered_at: Moment
    deadline: Deadline | None
    version: int
    last_seq: int
    owner: str | None = None
    accepted_by: str | None = None
    accepted_at: Moment | None = None
    assignments: tuple[Assignment, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    handlers: frozenset[str] = frozenset()
    handovers: tuple[Handover, ...] = ()
    forces_requests: tuple[ForcesRequest, ...] = ()
    # Further reports of the incident live in the log (case.report_linked) and in
    # case_reports; the state keeps only what rules need, so a case called in a thousand
    # times stays as small as one called in once.
    report_count: int = 1
    latest_report_at: Moment | None = None  # the latest linked report's time
    verified_by: str | None = None
    verified_at: Moment | None = None
    resolution_tier: Tier | None = None
    closure: Closure | None = None
    counters: HistoryCounters = HistoryCounters()
    split_from_case_id: int | None = None

    @property
    def is_open(self) -> bool:
        """Still in the loop (not archived, rejected, cancelled or merged)."""
        return self.status is CaseStatus.OPEN

    @property
    def active_assignments(self) -> tuple[Assignment, ...]:
        """Assignments still on the task."""
        return tuple(a for a in self.assignments if a.is_active)

    def active_assignment_of(self, unit_id: str) -> Assignment | None:
        """The assignment `unit_id` is working on now, if any (at most one)."""
        for assignment in self.assignments:
            if assignment.unit_id == unit_id and assignment.is_active:
                return assignment
        return None

    @property
    def deadline_kind(self) -> DeadlineKind | None:
        """The kind of the running deadline (None once verified or closed)."""
        return self.deadline.kind if self.deadline is not None else None

    @property
    def deadline_at(self) -> datetime | None:
        """When the running deadline falls due."""
        return self.deadline.due_at if self.deadline is not None else None

    @property
    def deadline_warn_at(self) -> datetime | None:
        """When the running deadline becomes due soon."""
        return self.deadline.warn_at if self.deadline is not None else None

    @property
    def overdue_recorded(self) -> bool:
        """Whether missing the running deadline has been recorded (and escalated)."""
        return self.deadline is not None and self.deadline.overdue_recorded

    @property
    def last_report_at(self) -> datetime:
        """When the latest report of this incident came in (the merge window runs from it)."""
        latest = self.latest_report_at
        return self.reported_at if latest is None else max(latest, self.reported_at)


class CaseRow(msgspec.Struct, frozen=True, gc=False):
    """A case as one database row: indexed columns beside the full JSON snapshot.

    The columns are for queries (lists, maps, the deadline scan); `snapshot` alone rebuilds
    the case with `case_from_row`.
    """

    case_id: int
    case_no: str
    source_id: str
    channel: str
    category: str
    severity: int
    status: str
    step: str
    owning_tier: str
    owning_org: str
    owner: str | None
    county_code: str
    township_code: str | None
    village_code: str | None
    grid_code: str | None
    inside_county: bool
    lon: float
    lat: float
    reported_at: Moment
    opened_at: Moment
    last_report_at: Moment
    deadline_kind: str | None
    deadline_started_at: Moment | None
    deadline_at: Moment | None
    deadline_warn_at: Moment | None
    overdue_recorded: bool
    reopen_count: int
    overdue_count: int
    resolution_tier: str | None
    satisfaction: str | None
    closed_at: Moment | None
    version: int
    last_seq: int
    snapshot: str  # JSON text of the whole case


def case_to_row(case: Case) -> CaseRow:
    """Flatten a case for storage; write it in the same transaction as its new events."""
    deadline = case.deadline
    closure = case.closure
    jurisdiction = case.jurisdiction
    location = case.location
    resolution_tier = case.resolution_tier
    satisfaction = closure.satisfaction if closure is not None else None
    # Positional: a keyword call of 35 fields costs more. `_value_` is the member's value
    # without the `value` property's function call.
    return CaseRow(
        case.case_id,  # case_id
        case.case_no,  # case_no
        case.source_id,  # source_id
        case.channel._value_,  # channel
        case.category._value_,  # category
        int(case.severity),  # severity
        case.status._value_,  # status
        case.step._value_,  # step
        case.owning_tier._value_,  # owning_tier
        case.owning_org,  # owning_org
        case.owner,  # owner
        jurisdiction.county_code,  # county_code
        jurisdiction.township_code,  # township_code
        jurisdiction.village_code,  # village_code
        jurisdiction.grid_code,  # grid_code
        jurisdiction.inside_county,  # inside_county
        location.lon,  # lon
        location.lat,  # lat
        case.reported_at,  # reported_at
        case.opened_at,  # opened_at
        case.last_report_at,  # last_report_at
        deadline.kind._value_ if deadline else None,  # deadline_kind
        deadline.started_at if deadline else None,  # deadline_started_at
        deadline.due_at if deadline else None,  # deadline_at
        deadline.warn_at if deadline else None,  # deadline_warn_at
        deadline.overdue_recorded if deadline else False,  # overdue_recorded
        case.counters.reopens,  # reopen_count
        case.counters.overdue,  # overdue_count
        resolution_tier._value_ if resolution_tier else None,  # resolution_tier
        satisfaction._value_ if satisfaction is not None else None,  # satisfaction
        closure.at if closure else None,  # closed_at
        case.version,  # version
        case.last_seq,  # last_seq
        case_to_snapshot(case),  # snapshot
    )


def case_from_row(row: CaseRow) -> Case:
    """Rebuild the case stored by `case_to_row` (from its snapshot)."""
    case = case_from_snapshot(row.snapshot)
    if case.case_id != row.case_id or case.version != row.version:
        raise ValueError(
            f"case row {row.case_id} v{row.version} holds a snapshot of "
            f"case {case.case_id} v{case.version}"
        )
    return case


# Sets (the handlers) are written sorted, so the same case always gives the same text.
_SNAPSHOT_ENCODER = msgspec.json.Encoder(order="deterministic")
_SNAPSHOT_DECODER = msgspec.json.Decoder(Case)


def case_to_snapshot(case: Case) -> str:
    """The whole case as JSON text (times in RFC 3339, enums as their values)."""
    return _SNAPSHOT_ENCODER.encode(case).decode()


def case_from_snapshot(text: str | bytes) -> Case:
    """Read a case written by `case_to_snapshot`, or by the hand-written codec before it.

    Raises `msgspec.ValidationError` or `msgspec.DecodeError` for anything else.
    """
    return _SNAPSHOT_DECODER.decode(text)


# Masking of personal data (脱敏) for shared screens, lists and exports. Each function keeps
# the shape people expect to see and never more than the rules below allow, whatever the text.

MASK = "*"
PHONE_SEPARATORS = frozenset("+- ()")
MAX_PHONE_DIGITS_SHOWN = 7
ADDRESS_KEPT_CHARS = 6
# Where the exact address points at a person (a petitioner, someone under care, a quarrel
# between neighbours), so shared screens show only the area.
SENSITIVE_ADDRESS_CATEGORIES = frozenset(
    {Category.PETITION, Category.SPECIAL_POPULATION, Category.DISPUTE}
)
_ASCII_DIGITS = frozenset("0123456789")
_MOBILE_LENGTH = 11
_MOBILE_SECOND_DIGITS = frozenset("3456789")


def mask_name(name: str | None) -> str | None:
    """The name with its first letter (the family name) kept and every other character a *."""
    # Compound surnames (欧阳, 司马) are not special-cased: 欧阳娜娜 shows as 欧***, which
    # reveals less. Latin names keep their first letter only ("John Smith" -> "J*********").
    # Surrounding spaces are dropped first; a one-character name is all mask ("王" -> "*"),
    # since keeping it would show the whole name. The kept character must be a letter, so
    # a combining mark, control, format (RTL) or surrogate character never survives.
    if not name:
        return name
    trimmed = name.strip()
    if len(trimmed) <= 1:
        return MASK
    first = trimmed[0]
    kept = first if unicodedata.category(first).startswith("L") else MASK
    return kept + MASK * (len(trimmed) - 1)


def mask_phone(phone: str | None) -> str | None:
    """The phone number in its own shape with all but a few digits masked (139****4567)."""
    # Rules, on the ASCII digits of the text (separators + - space ( ) stay, any other
    # character becomes a *, the length never changes):
    # - fewer than 7 digits: every digit masked;
    # - a mainland mobile (11 digits 1[3-9]..., optionally after +86, 86 or 0086): its first
    #   3 and last 4 digits, the customary 139****4567; a country code is masked, so that
    #   never more than 7 digits show;
    # - a landline (a leading 0 trunk, or any number after +86/0086): the area code and the
    #   last 2 digits (025-******78);
    # - anything else: the last 4 digits and the first 3.
    # Except for the mobile shape, no more than half of the digits are shown (the last
    # digits of a landline go first, the first digits of anything else); never more than 7.
    if not phone:
        return phone
    positions = [i for i, char in enumerate(phone) if char in _ASCII_DIGITS]
    digits = "".join(phone[i] for i in positions)
    plus = phone.lstrip(" (").startswith("+")  # (+86) as much as +86
    shown = {positions[k] for k in _shown_digits(digits, plus)}
    return "".join(
        char if i in shown or char in PHONE_SEPARATORS else MASK for i, char in enumerate(phone)
    )


def _shown_digits(digits: str, plus: bool) -> tuple[int, ...]:
    """Which digits (indices into `digits`) `mask_phone` leaves visible."""
    count = len(digits)
    if count < MAX_PHONE_DIGITS_SHOWN:
        return ()
    code = _country_code_length(digits, plus)
    national = digits[code:]
    foreign = plus and code == 0
    if (
        not foreign
        and len(national) == _MOBILE_LENGTH
        and national[0] == "1"
        and national[1] in _MOBILE_SECOND_DIGITS
    ):
        return (*range(code, code + 3), *range(count - 4, count))
    limit = min(MAX_PHONE_DIGITS_SHOWN, count // 2)
    if not foreign and (code or national.startswith("0")):
        head, tail = _area_code_length(national), 2
        while head + tail > limit:
            if tail:
                tail -= 1
            else:
                head -= 1
        return (*range(code, code + head), *range(count - tail, count))
    head, tail = 3, 4
    while head + tail > limit:
        if head:
            head -= 1
        else:
            tail -= 1
    return (*range(head), *range(count - tail, count))


def _country_code_length(digits: str, plus: bool) -> int:
    """How many leading digits are China's country code (+86, 0086, or 86 before a mobile)."""
    if digits.startswith("0086"):
        return 4
    if digits.startswith("86") and (plus or (len(digits) == 13 and digits[2] == "1")):
        return 2
    return 0


def _area_code_length(national: str) -> int:
    """Digits of the area code at the start of a national number, its trunk 0 included."""
    # 010 and 02x are the three-digit codes (two without the trunk 0), all others one longer.
    trunk = 1 if national.startswith("0") else 0
    if len(national) <= trunk:
        return trunk
    return trunk + (2 if national[trunk] in "12" else 3)


def mask_address(address: str | None, category: str) -> str | None:
    """The address as shared screens show it: only the area for sensitive categories."""
    # The first 6 characters (the district and street, 南京市高淳区) followed by ***, but
    # never more than half of a short address; other categories show the address as given.
    if address is None or category not in SENSITIVE_ADDRESS_CATEGORIES:
        return address
    if not address:
        return address  # nothing to hide
    return address[: min(ADDRESS_KEPT_CHARS, len(address) // 2)] + MASK * 3
