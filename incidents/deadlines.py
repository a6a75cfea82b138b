"""Time limits (限时办结制): the rule table, the due-soon / overdue scan, and escalation orders.

Every step of an open case runs against one deadline, started when the case entered the step:

| step      | deadline kind | clock starts at               |
|-----------|---------------|-------------------------------|
| intake    | acceptance    | the case is opened            |
| report    | dispatch      | the case is accepted          |
| dispatch  | arrival       | the first unit is dispatched  |
| feedback  | completion    | handling starts (or reopens)  |
| verify    | verification  | handling is completed         |
| archive   | none          | (waits for the evaluation)    |

A deadline is due soon once `due_soon_share` of its allowance is left, overdue once `now`
is past `due_at`. Moving a case between tiers does not restart the clock: lateness stays
visible to whoever owns the case next.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from incidents.case import Deadline, DeadlineKind, tier_above
from incidents.commands import SYSTEM_DEADLINES, RecordOverdue
from incidents.vocabulary import Category, Severity, Step, Tier

STEP_DEADLINE: Mapping[Step, DeadlineKind | None] = MappingProxyType(
    {
        Step.INTAKE: DeadlineKind.ACCEPTANCE,
        Step.REPORT: DeadlineKind.DISPATCH,
        Step.DISPATCH: DeadlineKind.ARRIVAL,
        Step.FEEDBACK: DeadlineKind.COMPLETION,
        Step.VERIFY: DeadlineKind.VERIFICATION,
        Step.ARCHIVE: None,
    }
)


@dataclass(frozen=True, slots=True)
class Allowances:
    """Time allowed for each step of one category and severity."""

    acceptance: timedelta
    dispatch: timedelta
    arrival: timedelta
    completion: timedelta
    verification: timedelta

    def for_kind(self, kind: DeadlineKind) -> timedelta:
        """The allowance for one kind of deadline."""
        match kind:
            case DeadlineKind.ACCEPTANCE:
                return self.acceptance
            case DeadlineKind.DISPATCH:
                return self.dispatch
            case DeadlineKind.ARRIVAL:
                return self.arrival
            case DeadlineKind.COMPLETION:
                return self.completion
            case DeadlineKind.VERIFICATION:
                return self.verification


@dataclass(frozen=True)
class DeadlineRules:
    """The rule table: allowances for every (category, severity), and the due-soon share."""

    table: Mapping[tuple[Category, Severity], Allowances]
    due_soon_share: float = 0.2

    def __post_init__(self) -> None:
        missing = [
            f"{category.value}/{severity.name}"
            for category in Category
            for severity in Severity
            if (category, severity) not in self.table
        ]
        if missing:
            raise ValueError(f"deadline rules have no row for {missing}")
        if not 0 < self.due_soon_share < 1:
            raise ValueError("due_soon_share must be between 0 and 1")
        for key, row in self.table.items():
            for kind in DeadlineKind:
                if row.for_kind(kind) <= timedelta(0):
                    raise ValueError(f"{key}: {kind.value} allowance must be positive")

    def allowances(self, category: Category, severity: Severity) -> Allowances:
        """The row for a category and severity."""
        return self.table[(category, severity)]

    def deadline_for(
        self, step: Step, category: Category, severity: Severity, started_at: datetime
    ) -> Deadline | None:
        """The deadline a case entering `step` at `started_at` runs against (None: archive)."""
        kind = STEP_DEADLINE[step]
        if kind is None:
            return None
        allowed = self.allowances(category, severity).for_kind(kind)
        due_at = started_at + allowed
        return Deadline(
            kind=kind,
            started_at=started_at,
            due_at=due_at,
            warn_at=due_at - allowed * self.due_soon_share,
        )


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _days(n: float) -> timedelta:
    return timedelta(days=n)


_m, _h, _d = _minutes, _hours, _days


def _row(
    acceptance: timedelta,
    dispatch: timedelta,
    arrival: timedelta,
    completion: timedelta,
    verification: timedelta,
) -> Allowances:
    return Allowances(acceptance, dispatch, arrival, completion, verification)


# Calendar time. Response limits (acceptance, dispatch, arrival) tighten with severity; for
# fire and traffic a bigger incident also takes longer to finish, for disputes and petitions
# a graver one must be settled sooner. Petitions follow the 信访条例 rhythm (15 days to take
# a case on, 60 to finish); public-service requests the usual 12345 hotline limits.
_C, _S = Category, Severity
DEFAULT_TABLE: Mapping[tuple[Category, Severity], Allowances] = MappingProxyType(
    {
        # category, level:             acceptance dispatch arrival completion verification
        (_C.FIRE, _S.I): _row(_m(1), _m(3), _m(15), _h(24), _d(1)),
        (_C.FIRE, _S.II): _row(_m(2), _m(5), _m(20), _h(12), _d(1)),
        (_C.FIRE, _S.III): _row(_m(3), _m(10), _m(30), _h(6), _d(2)),
        (_C.FIRE, _S.IV): _row(_m(5), _m(15), _m(45), _h(4), _d(3)),
        (_C.TRAFFIC, _S.I): _row(_m(1), _m(3), _m(15), _h(12), _d(1)),
        (_C.TRAFFIC, _S.II): _row(_m(2), _m(5), _m(20), _h(8), _d(2)),
        (_C.TRAFFIC, _S.III): _row(_m(3), _m(10), _m(30), _h(4), _d(3)),
        (_C.TRAFFIC, _S.IV): _row(_m(5), _m(15), _m(45), _h(2), _d(3)),
        (_C.EMERGENCY, _S.I): _row(_m(1), _m(3), _m(15), _h(24), _d(1)),
        (_C.EMERGENCY, _S.II): _row(_m(2), _m(5), _m(20), _h(12), _d(2)),
        (_C.EMERGENCY, _S.III): _row(_m(3), _m(10), _m(30), _h(12), _d(3)),
        (_C.EMERGENCY, _S.IV): _row(_m(5), _m(15), _h(1), _d(1), _d(3)),
        (_C.MASS_INCIDENT, _S.I): _row(_m(1), _m(3), _m(15), _h(24), _d(1)),
        (_C.MASS_INCIDENT, _S.II): _row(_m(2), _m(5), _m(20), _d(2), _d(2)),
        (_C.MASS_INCIDENT, _S.III): _row(_m(5), _m(15), _m(30), _d(3), _d(3)),
        (_C.MASS_INCIDENT, _S.IV): _row(_m(10), _m(30), _h(1), _d(7), _d(5)),
        (_C.PUBLIC_SECURITY, _S.I): _row(_m(1), _m(3), _m(10), _h(12), _d(1)),
        (_C.PUBLIC_SECURITY, _S.II): _row(_m(2), _m(5), _m(15), _d(1), _d(2)),
        (_C.PUBLIC_SECURITY, _S.III): _row(_m(5), _m(10), _m(30), _d(3), _d(3)),
        (_C.PUBLIC_SECURITY, _S.IV): _row(_m(15), _m(30), _h(2), _d(7), _d(5)),
        (_C.SAFETY_PRODUCTION, _S.I): _row(_m(1), _m(3), _m(20), _d(1), _d(2)),
        (_C.SAFETY_PRODUCTION, _S.II): _row(_m(2), _m(5), _m(30), _d(3), _d(3)),
        (_C.SAFETY_PRODUCTION, _S.III): _row(_m(10), _m(30), _h(2), _d(7), _d(5)),
        (_C.SAFETY_PRODUCTION, _S.IV): _row(_h(1), _h(4), _d(1), _d(15), _d(7)),
        (_C.SPECIAL_POPULATION, _S.I): _row(_m(1), _m(3), _m(15), _h(12), _d(1)),
        (_C.SPECIAL_POPULATION, _S.II): _row(_m(5), _m(10), _m(30), _d(1), _d(2)),
        (_C.SPECIAL_POPULATION, _S.III): _row(_m(15), _m(30), _h(2), _d(3), _d(3)),
        (_C.SPECIAL_POPULATION, _S.IV): _row(_h(1), _h(4), _d(1), _d(7), _d(7)),
        (_C.DISPUTE, _S.I): _row(_m(10), _m(30), _h(2), _d(2), _d(3)),
        (_C.DISPUTE, _S.II): _row(_m(30), _h(2), _h(12), _d(5), _d(3)),
        (_C.DISPUTE, _S.III): _row(_h(2), _h(8), _d(1), _d(10), _d(5)),
        (_C.DISPUTE, _S.IV): _row(_h(4), _d(1), _d(3), _d(15), _d(7)),
        (_C.PETITION, _S.I): _row(_m(10), _m(30), _h(1), _d(3), _d(3)),
        (_C.PETITION, _S.II): _row(_h(1), _h(4), _d(1), _d(15), _d(5)),
        (_C.PETITION, _S.III): _row(_d(1), _d(3), _d(7), _d(30), _d(7)),
        (_C.PETITION, _S.IV): _row(_d(3), _d(5), _d(15), _d(60), _d(15)),
        (_C.PUBLIC_SERVICE, _S.I): _row(_m(10), _m(30), _h(2), _d(1), _d(1)),
        (_C.PUBLIC_SERVICE, _S.II): _row(_m(30), _h(2), _d(1), _d(3), _d(3)),
        (_C.PUBLIC_SERVICE, _S.III): _row(_h(2), _d(1), _d(2), _d(5), _d(5)),
        (_C.PUBLIC_SERVICE, _S.IV): _row(_h(4), _d(1), _d(3), _d(15), _d(7)),
        (_C.OTHER, _S.I): _row(_m(2), _m(5), _m(20), _d(1), _d(1)),
        (_C.OTHER, _S.II): _row(_m(10), _m(30), _h(1), _d(3), _d(3)),
        (_C.OTHER, _S.III): _row(_h(1), _h(4), _d(1), _d(7), _d(5)),
        (_C.OTHER, _S.IV): _row(_h(4), _d(1), _d(3), _d(15), _d(7)),
    }
)

DEFAULT_DEADLINE_RULES = DeadlineRules(table=DEFAULT_TABLE)


class Deadlined(Protocol):
    """What the scan reads: a `Case`, a stored `CaseRow`, or a narrow `DeadlineWatch`."""

    @property
    def case_id(self) -> int: ...

    @property
    def case_no(self) -> str: ...

    @property
    def owning_tier(self) -> str: ...

    @property
    def deadline_kind(self) -> str | None: ...

    @property
    def deadline_at(self) -> datetime | None: ...

    @property
    def deadline_warn_at(self) -> datetime | None: ...

    @property
    def overdue_recorded(self) -> bool: ...


D = TypeVar("D", bound=Deadlined)


@dataclass(frozen=True, slots=True)
class DeadlineWatch:
    """Just the deadline columns of one open case, for a scheduler's narrow query."""

    case_id: int
    case_no: str
    owning_tier: str
    deadline_kind: str | None
    deadline_at: datetime | None
    deadline_warn_at: datetime | None
    overdue_recorded: bool = False


@dataclass(frozen=True, slots=True)
class Overdue(Generic[D]):
    """One overdue case and by how much."""

    item: D
    overdue_by: timedelta


@dataclass(frozen=True, slots=True)
class DueSoon(Generic[D]):
    """One case inside its warning window and how long is left."""

    item: D
    remaining: timedelta


@dataclass(frozen=True, slots=True)
class DeadlineScan(Generic[D]):
    """Due-soon and overdue cases at one moment: most overdue first, soonest due first.

    The lists hold the scanned cases (or rows) themselves; amounts are computed on demand,
    so a scan of 100,000 cases allocates nothing per case.
    """

    at: datetime
    overdue: tuple[D, ...]
    due_soon: tuple[D, ...]

    def overdue_by(self, item: D) -> timedelta:
        """How late `item` is at the scan's moment (negative if it is not overdue)."""
        return self.at - _due_at(item)

    def remaining(self, item: D) -> timedelta:
        """How long `item` has left at the scan's moment (negative once overdue)."""
        return _due_at(item) - self.at

    def overdue_entries(self, limit: int | None = None) -> tuple[Overdue[D], ...]:
        """The most overdue first, with amounts (for lists on screen)."""
        return tuple(Overdue(item, self.at - _due_at(item)) for item in self.overdue[:limit])

    def due_soon_entries(self, limit: int | None = None) -> tuple[DueSoon[D], ...]:
        """The soonest due first, with time left."""
        return tuple(DueSoon(item, _due_at(item) - self.at) for item in self.due_soon[:limit])


def is_overdue(deadline: Deadline, now: datetime) -> bool:
    """Past the deadline (at exactly `due_at` it is due, not yet late)."""
    return now > deadline.due_at


def is_due_soon(deadline: Deadline, now: datetime) -> bool:
    """Inside the warning window and not yet late."""
    return deadline.warn_at <= now <= deadline.due_at


def scan_deadlines(items: Iterable[D], now: datetime) -> DeadlineScan[D]:
    """Which cases are due soon or overdue at `now`: one pass, then a sort of the hits.

    Works on `Case`s, `CaseRow`s or `DeadlineWatch`es alike. Items without a running
    deadline (closed, or verified and awaiting evaluation) are skipped; equal deadlines keep
    the input order.
    """
    _require_aware(now)
    overdue: list[D] = []
    due_soon: list[D] = []
    # The hot loop of the 100,000-case scan: two comparisons, no allocation per case.
    for item in items:
        due_at = item.deadline_at
        if due_at is None:
            continue
        if now > due_at:
            overdue.append(item)
        else:
            warn_at = item.deadline_warn_at
            if warn_at is not None and now >= warn_at:
                due_soon.append(item)
    overdue.sort(key=_due_at)
    due_soon.sort(key=_due_at)
    return DeadlineScan(at=now, overdue=tuple(overdue), due_soon=tuple(due_soon))


def _due_at(item: Deadlined) -> datetime:
    due_at = item.deadline_at
    if due_at is None:
        raise ValueError(f"case {item.case_no} has no running deadline")
    return due_at


@dataclass(frozen=True, slots=True)
class DeadlineBoard(Generic[D]):
    """Running deadlines sorted twice, for repeated scans of a large, slowly changing set.

    By due time, the overdue cases are a prefix (counting them is a binary search); by
    warning time, the overdue and due-soon cases together are a prefix. A scan therefore
    costs two binary searches plus the size of its answer. Build one per refresh;
    `scan` returns the same answer as `scan_deadlines`.
    """

    by_due: tuple[D, ...]
    by_warning: tuple[D, ...]

    @classmethod
    def build(cls, items: Iterable[D]) -> DeadlineBoard[D]:
        """Index the items that have a running deadline."""
        running = [
            item
            for item in items
            if item.deadline_at is not None and item.deadline_warn_at is not None
        ]
        by_due = sorted(running, key=_due_at)
        by_warning = sorted(running, key=_warn_at)
        return cls(by_due=tuple(by_due), by_warning=tuple(by_warning))

    def __len__(self) -> int:
        return len(self.by_due)

    def overdue_count(self, now: datetime) -> int:
        """How many are overdue at `now`."""
        return bisect_left(self.by_due, now, key=_due_at)

    def scan(self, now: datetime) -> DeadlineScan[D]:
        """Due-soon and overdue at `now`."""
        _require_aware(now)
        first_on_time = bisect_left(self.by_due, now, key=_due_at)
        warned = self.by_warning[: bisect_right(self.by_warning, now, key=_warn_at)]
        due_soon = [item for item in warned if _due_at(item) >= now]
        due_soon.sort(key=_due_at)
        return DeadlineScan(at=now, overdue=self.by_due[:first_on_time], due_soon=tuple(due_soon))


def _warn_at(item: Deadlined) -> datetime:
    warn_at = item.deadline_warn_at
    if warn_at is None:
        raise ValueError(f"case {item.case_no} has no running deadline")
    return warn_at


@dataclass(frozen=True, slots=True)
class EscalationOrder:
    """A missed deadline to record on one case; `escalates_to` is None at the county."""

    case_id: int
    case_no: str
    escalates_to: Tier | None
    command: RecordOverdue


def cases_to_escalate(
    items: Iterable[Deadlined] | DeadlineScan[Any], now: datetime, limit: int | None = None
) -> tuple[EscalationOrder, ...]:
    """Orders for every overdue deadline not yet recorded; each deadline gets one order, once.

    The scheduler applies each order's command with `lifecycle.apply(case, order.command,
    now)` on the freshly loaded case, in its own transaction. Once applied, the deadline is
    marked recorded and no later scan orders it again; a stale order (the case moved on, or
    another worker got there first) is refused with IllegalMove and can be skipped.
    Most overdue first; `limit` caps a batch (after an outage every case may be late).
    """
    scan = items if isinstance(items, DeadlineScan) else scan_deadlines(items, now)
    orders: list[EscalationOrder] = []
    for item in scan.overdue:
        if limit is not None and len(orders) >= limit:
            break
        kind = item.deadline_kind
        if item.overdue_recorded or kind is None:
            continue
        deadline_kind = _KINDS[kind]
        orders.append(
            EscalationOrder(
                case_id=item.case_id,
                case_no=item.case_no,
                escalates_to=tier_above(_TIERS[item.owning_tier]),
                command=RecordOverdue(
                    actor=SYSTEM_DEADLINES,
                    reason=f"{deadline_kind.value} deadline missed",
                    kind=deadline_kind,
                    due_at=_due_at(item),
                ),
            )
        )
    return tuple(orders)


_TIERS: Mapping[str, Tier] = {tier.value: tier for tier in Tier}
_KINDS: Mapping[str, DeadlineKind] = {kind.value: kind for kind in DeadlineKind}


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
