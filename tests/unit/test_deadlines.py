"""Deadline rules, the due-soon / overdue scan, and the once-only overdue escalation."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.case import CaseStatus, DeadlineKind, case_to_row
from incidents.commands import Accept, Dispatch, EvaluateAndArchive, HandDown, Reject
from incidents.deadlines import (
    DEFAULT_DEADLINE_RULES,
    DEFAULT_TABLE,
    STEP_DEADLINE,
    Allowances,
    DeadlineBoard,
    DeadlineRules,
    DeadlineWatch,
    cases_to_escalate,
    is_due_soon,
    is_overdue,
    scan_deadlines,
)
from incidents.events import CaseEscalated, EventType
from incidents.lifecycle import IllegalMove, apply
from incidents.vocabulary import Category, Severity, Step, Tier
from tests.unit.lifecycle_fixtures import T0, Driver, drive_to, new_case, unit

UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}

# The rule table as the county centre agreed it, written out independently of the code:
# acceptance, dispatch, arrival, completion, verification.
EXPECTED = {
    Category.FIRE: ("1m 3m 15m 24h 1d", "2m 5m 20m 12h 1d", "3m 10m 30m 6h 2d", "5m 15m 45m 4h 3d"),
    Category.TRAFFIC: (
        "1m 3m 15m 12h 1d",
        "2m 5m 20m 8h 2d",
        "3m 10m 30m 4h 3d",
        "5m 15m 45m 2h 3d",
    ),
    Category.EMERGENCY: (
        "1m 3m 15m 24h 1d",
        "2m 5m 20m 12h 2d",
        "3m 10m 30m 12h 3d",
        "5m 15m 1h 1d 3d",
    ),
    Category.MASS_INCIDENT: (
        "1m 3m 15m 24h 1d",
        "2m 5m 20m 2d 2d",
        "5m 15m 30m 3d 3d",
        "10m 30m 1h 7d 5d",
    ),
    Category.PUBLIC_SECURITY: (
        "1m 3m 10m 12h 1d",
        "2m 5m 15m 1d 2d",
        "5m 10m 30m 3d 3d",
        "15m 30m 2h 7d 5d",
    ),
    Category.SAFETY_PRODUCTION: (
        "1m 3m 20m 1d 2d",
        "2m 5m 30m 3d 3d",
        "10m 30m 2h 7d 5d",
        "1h 4h 1d 15d 7d",
    ),
    Category.SPECIAL_POPULATION: (
        "1m 3m 15m 12h 1d",
        "5m 10m 30m 1d 2d",
        "15m 30m 2h 3d 3d",
        "1h 4h 1d 7d 7d",
    ),
    Category.DISPUTE: (
        "10m 30m 2h 2d 3d",
        "30m 2h 12h 5d 3d",
        "2h 8h 1d 10d 5d",
        "4h 1d 3d 15d 7d",
    ),
    Category.PETITION: (
        "10m 30m 1h 3d 3d",
        "1h 4h 1d 15d 5d",
        "1d 3d 7d 30d 7d",
        "3d 5d 15d 60d 15d",
    ),
    Category.PUBLIC_SERVICE: (
        "10m 30m 2h 1d 1d",
        "30m 2h 1d 3d 3d",
        "2h 1d 2d 5d 5d",
        "4h 1d 3d 15d 7d",
    ),
    Category.OTHER: ("2m 5m 20m 1d 1d", "10m 30m 1h 3d 3d", "1h 4h 1d 7d 5d", "4h 1d 3d 15d 7d"),
}
KINDS = (
    DeadlineKind.ACCEPTANCE,
    DeadlineKind.DISPATCH,
    DeadlineKind.ARRIVAL,
    DeadlineKind.COMPLETION,
    DeadlineKind.VERIFICATION,
)
RULES = [(c, s) for c in Category for s in Severity]


def expected(category: Category, severity: Severity) -> dict[DeadlineKind, timedelta]:
    """The written-out allowance of every kind for one rule."""
    text = EXPECTED[category][int(severity) - 1]
    return {
        kind: int(part[:-1]) * UNITS[part[-1]]
        for kind, part in zip(KINDS, text.split(), strict=True)
    }


@pytest.mark.parametrize(("category", "severity"), RULES, ids=[f"{c}-{s.name}" for c, s in RULES])
def test_every_step_of_every_rule_runs_against_its_allowance(
    category: Category, severity: Severity
) -> None:
    """Driving a case through the loop, each step's deadline is its entry time + the rule."""
    allowed = expected(category, severity)
    driver = new_case(category=category, severity=severity)
    seen = {}
    for step in (Step.INTAKE, Step.REPORT, Step.DISPATCH, Step.FEEDBACK, Step.VERIFY):
        drive_to(driver, step)
        deadline = driver.case.deadline
        assert deadline is not None
        assert deadline.kind is STEP_DEADLINE[step]
        assert deadline.started_at == driver.case.step_entered_at
        seen[deadline.kind] = deadline.due_at - deadline.started_at
        assert deadline.due_at - deadline.warn_at == seen[deadline.kind] / 5
    assert seen == allowed
    drive_to(driver, Step.ARCHIVE)
    assert driver.case.deadline is None


def test_the_table_has_exactly_the_rules_written_out_here() -> None:
    """No rule in the code that the written table lacks, and none missing."""
    assert set(DEFAULT_TABLE) == set(RULES)


def test_the_centre_s_anchor_figures() -> None:
    """Level I fire: dispatch in 3 min, arrival in 15; a Level IV dispute: days to complete."""
    fire = DEFAULT_DEADLINE_RULES.allowances(Category.FIRE, Severity.I)
    assert (fire.dispatch, fire.arrival) == (timedelta(minutes=3), timedelta(minutes=15))
    dispute = DEFAULT_DEADLINE_RULES.allowances(Category.DISPUTE, Severity.IV)
    assert dispute.completion >= timedelta(days=7)


@pytest.mark.parametrize("category", list(Category))
def test_graver_cases_never_get_slower_response(category: Category) -> None:
    """Acceptance, dispatch and arrival limits tighten (or hold) from Level IV to Level I."""
    rows = [DEFAULT_DEADLINE_RULES.allowances(category, s) for s in Severity]
    for kind in (DeadlineKind.ACCEPTANCE, DeadlineKind.DISPATCH, DeadlineKind.ARRIVAL):
        limits = [row.for_kind(kind) for row in rows]
        assert limits == sorted(limits), (category, kind)
    for row in rows:
        assert row.acceptance <= row.dispatch <= row.arrival <= row.completion


def test_rules_refuse_a_missing_row_a_bad_share_or_a_zero_allowance() -> None:
    """A rule table must cover every category and level with positive allowances."""
    table = dict(DEFAULT_TABLE)
    del table[(Category.FIRE, Severity.I)]
    with pytest.raises(ValueError, match="fire/I"):
        DeadlineRules(table=table)
    with pytest.raises(ValueError, match="due_soon_share"):
        DeadlineRules(table=DEFAULT_TABLE, due_soon_share=1.5)
    zero = dict(DEFAULT_TABLE)
    zero[(Category.FIRE, Severity.I)] = replace(
        DEFAULT_TABLE[(Category.FIRE, Severity.I)], arrival=timedelta(0)
    )
    with pytest.raises(ValueError, match="arrival"):
        DeadlineRules(table=zero)


def test_a_custom_rule_table_drives_the_deadlines() -> None:
    """apply takes the county's own table when one is configured."""
    quick = Allowances(*(timedelta(seconds=30),) * 5)
    rules = DeadlineRules(table=dict.fromkeys(RULES, quick))
    driver = new_case()
    case, _ = apply(driver.case, Accept(actor="duty-a"), T0, rules=rules)
    assert case.deadline is not None
    assert case.deadline.due_at == T0 + timedelta(seconds=30)


# --- the scan ---------------------------------------------------------------------------------


def test_due_soon_and_overdue_boundaries() -> None:
    """Due soon from warn_at to due_at inclusive; overdue only strictly after due_at."""
    deadline = new_case().case.deadline
    assert deadline is not None
    tick = timedelta(microseconds=1)
    assert not is_due_soon(deadline, deadline.warn_at - tick)
    assert is_due_soon(deadline, deadline.warn_at)
    assert is_due_soon(deadline, deadline.due_at) and not is_overdue(deadline, deadline.due_at)
    assert is_overdue(deadline, deadline.due_at + tick)
    assert not is_due_soon(deadline, deadline.due_at + tick)


def some_cases() -> list[Driver]:
    """Four cases due 2, 3, 4 and 5 minutes after T0 (public security II: 2 min to accept)."""
    return [new_case(case_id=i, at=T0 + timedelta(minutes=i - 1)) for i in (1, 2, 3, 4)]


def test_scan_lists_the_most_overdue_first_and_says_by_how_much() -> None:
    """At T0+3m40s: cases 1 and 2 are overdue (by 100 s and 40 s); 3 is due soon (20 s)."""
    cases = [d.case for d in some_cases()]
    now = T0 + timedelta(minutes=3, seconds=40)
    scan = scan_deadlines(cases, now)
    assert [c.case_id for c in scan.overdue] == [1, 2]
    assert [scan.overdue_by(c) for c in scan.overdue] == [
        timedelta(seconds=100),
        timedelta(seconds=40),
    ]
    assert [c.case_id for c in scan.due_soon] == [3]
    assert scan.remaining(scan.due_soon[0]) == timedelta(seconds=20)
    [entry] = scan.overdue_entries(limit=1)
    assert (entry.item.case_id, entry.overdue_by) == (1, timedelta(seconds=100))
    [soon] = scan.due_soon_entries()
    assert (soon.item.case_id, soon.remaining) == (3, timedelta(seconds=20))


def test_scan_skips_closed_cases_and_cases_waiting_for_evaluation() -> None:
    """Rejected, archived and verified-awaiting-evaluation cases have no running deadline."""
    rejected = new_case(case_id=1)
    rejected.do(Reject(actor="duty-a", reason="x"))
    archived = drive_to(new_case(case_id=2), Step.ARCHIVE)
    waiting = drive_to(new_case(case_id=3), Step.ARCHIVE)
    archived.do(EvaluateAndArchive(actor="duty-a", satisfaction=None, reason="anonymous"))
    late = T0 + timedelta(days=365)
    scan = scan_deadlines([rejected.case, archived.case, waiting.case], late)
    assert scan.overdue == () and scan.due_soon == ()


def test_scan_refuses_a_naive_clock() -> None:
    """now must be timezone-aware."""
    with pytest.raises(ValueError, match="timezone"):
        scan_deadlines([], T0.replace(tzinfo=None))


def test_a_row_scan_gives_the_same_answer_as_a_case_scan() -> None:
    """Stored CaseRows scan exactly like the cases themselves, escalation orders included."""
    drivers = some_cases()
    drivers[0].do(Reject(actor="duty-a", reason="x"), after=timedelta(0))
    cases = [d.case for d in drivers]
    now = T0 + timedelta(minutes=3, seconds=40)
    by_rows = scan_deadlines([case_to_row(c) for c in cases], now)
    by_cases = scan_deadlines(cases, now)
    assert by_cases.overdue and by_cases.due_soon
    assert [r.case_id for r in by_rows.overdue] == [c.case_id for c in by_cases.overdue] == [2]
    assert [r.case_id for r in by_rows.due_soon] == [c.case_id for c in by_cases.due_soon]
    assert [by_rows.overdue_by(r) for r in by_rows.overdue] == [
        by_cases.overdue_by(c) for c in by_cases.overdue
    ]
    assert cases_to_escalate([case_to_row(c) for c in cases], now) == cases_to_escalate(cases, now)


watches_strategy = st.lists(
    st.tuples(
        st.integers(-10_000, 10_000),  # due, seconds from T0
        st.integers(0, 5_000),  # warning window, seconds
        st.booleans(),
    ),
    max_size=60,
).map(
    lambda rows: [
        DeadlineWatch(
            case_id=i,
            case_no=str(i),
            owning_tier="township",
            deadline_kind="completion",
            deadline_at=T0 + timedelta(seconds=due),
            deadline_warn_at=T0 + timedelta(seconds=due - warning),
            overdue_recorded=recorded,
        )
        for i, (due, warning, recorded) in enumerate(rows)
    ]
)


@settings(max_examples=300, derandomize=True, database=None)
@given(watches_strategy, st.integers(-12_000, 12_000))
def test_the_sorted_board_answers_like_the_plain_scan(
    watches: list[DeadlineWatch], offset: int
) -> None:
    """DeadlineBoard.scan and overdue_count agree with scan_deadlines at any moment."""
    now = T0 + timedelta(seconds=offset)
    board = DeadlineBoard.build(watches)
    plain = scan_deadlines(watches, now)
    indexed = board.scan(now)
    assert [w.deadline_at for w in indexed.overdue] == [w.deadline_at for w in plain.overdue]
    assert sorted(w.case_id for w in indexed.overdue) == sorted(w.case_id for w in plain.overdue)
    assert sorted(w.case_id for w in indexed.due_soon) == sorted(w.case_id for w in plain.due_soon)
    assert board.overdue_count(now) == len(plain.overdue)
    brute = [w for w in watches if w.deadline_at is not None and now > w.deadline_at]
    assert len(brute) == len(plain.overdue)
    orders = cases_to_escalate(plain, now)
    assert [o.case_id for o in orders] == [
        w.case_id for w in plain.overdue if not w.overdue_recorded
    ]
    assert {o.escalates_to for o in orders} <= {Tier.COUNTY}


# --- escalation -----------------------------------------------------------------------------


def test_an_overdue_village_case_escalates_to_its_township_once() -> None:
    """The first scan orders it; applying records the miss and escalates; no second order."""
    driver = drive_to(new_case(owning_tier=Tier.VILLAGE), Step.REPORT)
    deadline = driver.case.deadline
    assert deadline is not None
    late = deadline.due_at + timedelta(minutes=2)
    [order] = cases_to_escalate([driver.case], late)
    assert (order.case_id, order.escalates_to) == (driver.case.case_id, Tier.TOWNSHIP)
    case, events = apply(driver.case, order.command, late)
    assert [e.type for e in events] == [EventType.OVERDUE, EventType.ESCALATED]
    overdue, escalated = (e.payload for e in events)
    assert overdue.overdue_by == timedelta(minutes=2)  # type: ignore[union-attr]
    assert isinstance(escalated, CaseEscalated) and escalated.auto
    assert (case.owning_tier, case.owning_org) == (Tier.TOWNSHIP, "320118001")
    assert case.counters.overdue == 1 and case.counters.auto_escalations == 1
    assert case.deadline == msgspec.structs.replace(deadline, overdue_recorded=True)
    assert cases_to_escalate([case], late + timedelta(hours=1)) == ()
    with pytest.raises(IllegalMove, match="already recorded"):
        apply(case, order.command, late + timedelta(hours=1))
    assert scan_deadlines([case], late).overdue == (case,), "still shown as overdue"


def test_an_overdue_county_case_is_recorded_but_has_nowhere_to_go() -> None:
    """At the county the miss is recorded and counted; there is no tier above."""
    driver = new_case(owning_tier=Tier.COUNTY)
    deadline = driver.case.deadline
    assert deadline is not None
    late = deadline.due_at + timedelta(seconds=1)
    [order] = cases_to_escalate([driver.case], late)
    assert order.escalates_to is None
    case, events = apply(driver.case, order.command, late)
    assert [e.type for e in events] == [EventType.OVERDUE]
    assert case.owning_tier is Tier.COUNTY and case.counters.overdue == 1


def test_the_next_missed_deadline_is_escalated_again() -> None:
    """Once per deadline: a later step's miss gives a new order and another tier up."""
    driver = drive_to(new_case(owning_tier=Tier.VILLAGE), Step.REPORT)
    first = driver.case.deadline
    assert first is not None
    driver.now = first.due_at + timedelta(minutes=1)
    [order] = cases_to_escalate([driver.case], driver.now)
    driver.do(order.command, after=timedelta(0))
    driver.do(Dispatch(actor="duty-a", targets=(unit("car-1"),)))
    second = driver.case.deadline
    assert second is not None and second.kind is DeadlineKind.ARRIVAL
    driver.now = second.due_at + timedelta(minutes=1)
    [order] = cases_to_escalate([driver.case], driver.now)
    assert order.escalates_to is Tier.COUNTY
    driver.do(order.command, after=timedelta(0))
    assert driver.case.owning_tier is Tier.COUNTY
    assert driver.case.counters.overdue == 2 and driver.case.counters.auto_escalations == 2


def test_a_stale_or_premature_order_is_refused() -> None:
    """An order for a deadline the case has left, or one not yet past, changes nothing."""
    driver = new_case(owning_tier=Tier.TOWNSHIP)
    deadline = driver.case.deadline
    assert deadline is not None
    late = deadline.due_at + timedelta(minutes=5)
    [order] = cases_to_escalate([driver.case], late)
    with pytest.raises(IllegalMove, match="not yet past"):
        apply(driver.case, order.command, deadline.due_at)
    accepted, _ = apply(driver.case, Accept(actor="duty-a"), late - timedelta(minutes=1))
    with pytest.raises(IllegalMove, match="no longer"):
        apply(accepted, order.command, late)


def test_changing_tier_does_not_restart_the_clock() -> None:
    """Handing a case down keeps its running deadline, so lateness stays visible."""
    driver = drive_to(new_case(owning_tier=Tier.COUNTY), Step.REPORT)
    before = driver.case.deadline
    driver.do(HandDown(actor="duty-a", reason="属地", to_tier=Tier.TOWNSHIP))
    assert driver.case.deadline == before


def test_escalation_orders_come_most_overdue_first_and_can_be_capped() -> None:
    """A backlog is worked oldest miss first, in batches."""
    cases = [d.case for d in some_cases()]
    late = T0 + timedelta(hours=1)
    orders = cases_to_escalate(cases, late)
    assert [o.case_id for o in orders] == [1, 2, 3, 4]
    assert [o.case_id for o in cases_to_escalate(cases, late, limit=2)] == [1, 2]
    assert cases_to_escalate(scan_deadlines(cases, late), late) == orders
    assert all(o.command.actor == "system:deadlines" for o in orders)


def test_closed_cases_are_never_ordered() -> None:
    """A rejected case is not late for anything."""
    driver = new_case()
    driver.do(Reject(actor="duty-a", reason="x"))
    assert driver.case.status is CaseStatus.REJECTED
    assert cases_to_escalate([driver.case], T0 + timedelta(days=30)) == ()
