"""Response times, verification pass rate, satisfaction, period figures: on hand-made data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents import kpis
from incidents.kpis import CaseTimes, Evaluation, Verdict
from tests.unit.test_kpis import case

T0 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
DAY_END = T0 + timedelta(days=1)


def at(minutes: float) -> datetime:
    """`minutes` after T0."""
    return T0 + timedelta(minutes=minutes)


def times(
    opened: float, dispatched: float | None = None, arrived: float | None = None
) -> CaseTimes:
    """A case's moments in minutes after T0."""
    return CaseTimes(
        at(opened),
        None if dispatched is None else at(dispatched),
        None if arrived is None else at(arrived),
    )


def test_percentile_interpolates_like_percentile_cont() -> None:
    """Median of an even count is the midpoint; p90 of 1..10 is 9.1; one value is every quantile."""
    assert kpis.percentile([4, 1, 3, 2], 0.5) == 2.5
    assert kpis.percentile(list(range(1, 11)), 0.9) == 9.1
    assert kpis.percentile([7.0], 0.9) == 7.0
    assert kpis.percentile([], 0.5) is None


def test_time_to_dispatch_measures_opened_to_first_dispatch_in_the_period() -> None:
    """Waits 60, 120, 180 and 600 s; a case dispatched before the period or never is left out."""
    data = [
        times(10, 11),
        times(20, 22),
        times(30, 33),
        times(40, 50),
        times(-30, -20),  # dispatched yesterday
        times(60),  # not yet dispatched
    ]
    got = kpis.time_to_dispatch(data, T0, DAY_END)
    assert (got.median_s, got.count) == (150.0, 4)
    assert got.p90_s == pytest.approx(180 + 0.7 * 420)  # rank 0.9 × 3 = 2.7


def test_time_to_arrival_measures_first_dispatch_to_first_unit_on_scene() -> None:
    """Dispatch → arrival 5 and 15 min; a dispatched case with nobody there yet is left out."""
    data = [times(0, 1, 6), times(0, 2, 17), times(0, 3)]
    got = kpis.time_to_arrival(data, T0, DAY_END)
    assert (got.median_s, got.count) == (600.0, 2)
    assert got.p90_s == pytest.approx(300 + 0.9 * 600)


def test_no_response_measured_is_none_not_zero() -> None:
    """An empty period has no median and no p90 (a dash on the page), and a count of 0."""
    empty = kpis.Durations(None, None, 0)
    assert kpis.time_to_dispatch([], T0, DAY_END) == empty
    assert kpis.time_to_arrival([times(0, 1)], T0, DAY_END) == empty


def test_the_period_is_start_inclusive_end_exclusive() -> None:
    """A dispatch exactly at the period's end belongs to the next one."""
    data = [times(-1, 0), times(1439, 1440)]
    assert kpis.time_to_dispatch(data, T0, DAY_END).count == 1


def test_verification_pass_rate_is_passed_over_all_verifications_in_the_period() -> None:
    """Three passed, one failed (reopened) → 0.75; yesterday's failure does not count."""
    verdicts = [Verdict(at(m), ok) for m, ok in [(1, True), (2, True), (3, False), (4, True)]]
    verdicts.append(Verdict(at(-60), False))
    assert kpis.verification_pass_rate(verdicts, T0, DAY_END) == 0.75
    assert kpis.verification_pass_rate([], T0, DAY_END) is None


def test_satisfaction_counts_each_level_and_the_share_satisfied() -> None:
    """2 满意, 1 基本满意, 1 不满意 → 3/4 content; an archive without a verdict is not evaluated."""
    levels = ["satisfied", "satisfied", "basically_satisfied", "dissatisfied", None]
    got = kpis.satisfaction([Evaluation(at(i), s) for i, s in enumerate(levels)], T0, DAY_END)
    assert got.rate == 0.75 and got.evaluated == 4
    assert got.by_level == {"satisfied": 2, "basically_satisfied": 1, "dissatisfied": 1}


def test_satisfaction_with_no_evaluation_is_none_with_every_level_at_zero() -> None:
    """Nothing evaluated → no rate; the breakdown still names every level the domain has."""
    got = kpis.satisfaction([Evaluation(at(1), None)], T0, DAY_END)
    assert got == kpis.SatisfactionFigures(
        None, 0, {"satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0}
    )


def test_period_figures_rate_what_happened_in_the_period_and_count_what_is_open_now() -> None:
    """Cases closed before the period leave the rates; an open case opened earlier stays in
    the steps; units available are counted by status."""
    cases = [
        case(2, closed_h=3, deadline_h=4, tier="township", status="archived", step="archive"),
        case(5, closed_h=30, deadline_h=20, status="archived", step="archive"),  # tomorrow
        case(-30, closed_h=-20, deadline_h=-10, reopened=1, status="archived", step="archive"),
        case(-5, step="feedback"),
    ]
    got = kpis.period_kpis_of(
        "320118000000",
        T0,
        DAY_END,
        cases,
        [times(120, 125, 140)],
        [Verdict(at(150), True)],
        [Evaluation(at(200), "satisfied")],
        ["online", "offline"],
        ["available", "busy", "available"],
    )
    assert got.opened == 2 and got.by_channel == {"110": 2}
    assert got.open_by_step["feedback"] == 1
    assert (got.on_time_rate, got.reopen_rate, got.resolved_low_share) == (1.0, 0.0, 1.0)
    assert got.time_to_dispatch.median_s == 300.0 and got.time_to_arrival.median_s == 900.0
    assert got.verification_pass_rate == 1.0 and got.satisfaction.rate == 1.0
    assert (got.camera_online_rate, got.units_available) == (0.5, 2)
