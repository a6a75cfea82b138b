"""The wall's key figures on hand-computed data: each definition checked on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents import kpis
from incidents.kpis import CaseFacts

T0 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # local midnight stands in as "today"


def case(
    hour: float = 1,
    *,
    channel: str = "110",
    category: str = "dispute",
    step: str = "dispatch",
    status: str = "open",
    deadline_h: float | None = None,
    closed_h: float | None = None,
    tier: str | None = None,
    reopened: int = 0,
    overdue: int = 0,
) -> CaseFacts:
    """A case opened `hour` hours after T0 (negative: yesterday)."""
    return CaseFacts(
        channel=channel,
        category=category,
        step=step,
        status=status,
        opened_at=T0 + timedelta(hours=hour),
        deadline_at=None if deadline_h is None else T0 + timedelta(hours=deadline_h),
        closed_at=None if closed_h is None else T0 + timedelta(hours=closed_h),
        resolution_tier=tier,
        reopen_count=reopened,
        overdue_count=overdue,
    )


def test_today_counts_only_cases_opened_since_midnight_by_channel_and_category() -> None:
    """Yesterday's case is left out; channels and categories are counted, most first."""
    cases = [
        case(-2, channel="110"),
        case(1, channel="12345", category="fire"),
        case(2, channel="110"),
        case(3, channel="12345", category="fire"),
        case(4, channel="12345"),
    ]
    today = kpis.opened_since(cases, T0)
    assert len(today) == 4
    assert kpis.count_by_channel(today) == {"12345": 3, "110": 1}
    assert list(kpis.count_by_channel(today)) == ["12345", "110"]
    assert kpis.count_by_category(today) == {"fire": 2, "dispute": 2}


def test_open_by_step_lists_all_six_steps_in_order_and_skips_closed_cases() -> None:
    """Steps with no case show 0; an archived case is not open."""
    cases = [case(step="intake"), case(step="verify"), case(step="verify")]
    cases.append(case(step="archive", status="archived", closed_h=5))
    got = kpis.open_by_step(cases)
    assert list(got) == ["intake", "report", "dispatch", "feedback", "verify", "archive"]
    assert got["intake"] == 1 and got["verify"] == 2 and sum(got.values()) == 3


def test_on_time_rate_is_archived_cases_that_never_missed_a_step_deadline() -> None:
    """4 archived cases: one missed a step deadline, one closed past the deadline it still had.

    Verified cases no longer hold a running deadline, so an archived case without one counts
    by its overdue record; cancelled and open cases are not counted at all.
    """
    cases = [
        case(closed_h=5, deadline_h=6, status="archived"),
        case(closed_h=9, status="archived"),  # no deadline left, never overdue: on time
        case(closed_h=9, status="archived", overdue=1),  # the dispatch deadline was missed
        case(closed_h=9, deadline_h=6, status="archived"),  # closed past its deadline
        case(closed_h=3, status="cancelled"),  # rejected as a false report: not counted
        case(deadline_h=2),  # still open: not counted
    ]
    assert kpis.on_time_rate(cases) == 2 / 4
    assert kpis.on_time_rate([case()]) is None


def test_resolved_low_share_is_township_or_village_over_closed_cases_with_a_tier() -> None:
    """township + village of county + township + village + unknown → 3 of 4 known."""
    cases = [
        case(closed_h=2, tier="township", status="archived"),
        case(closed_h=2, tier="village", status="archived"),
        case(closed_h=2, tier="county", status="archived"),
        case(closed_h=2, tier="township", status="archived"),
        case(closed_h=2, status="archived"),
        case(tier="township"),  # open: not resolved yet
    ]
    assert kpis.resolved_low_share(cases) == 3 / 4


def test_reopen_rate_is_the_share_of_closed_cases_reopened_at_least_once() -> None:
    """1 of 4 closed cases was reopened (twice counts once); open ones are left out."""
    closed = [case(closed_h=3, status="archived", reopened=n) for n in (0, 2, 0, 0)]
    assert kpis.reopen_rate([*closed, case(reopened=1)]) == 1 / 4


def test_overdue_counts_open_cases_past_their_deadline() -> None:
    """Past deadline and open → overdue; not yet due, closed, or no deadline → not."""
    now = T0 + timedelta(hours=10)
    cases = [
        case(deadline_h=9),
        case(deadline_h=11),
        case(deadline_h=9, closed_h=8, status="archived"),
        case(),
    ]
    assert kpis.overdue_open(cases, now) == 1


def test_camera_online_rate_counts_alarming_cameras_as_working() -> None:
    """online + alarm of 5 → 0.6; no cameras → None, never a made-up 0 %."""
    assert kpis.online_rate(["online", "alarm", "offline", "fault", "online"]) == 3 / 5
    assert kpis.online_rate([]) is None


def test_units_by_status_counts_each_status() -> None:
    """Counts per status, most first."""
    got = kpis.units_by_status(["available", "en_route", "available", "on_scene", "available"])
    assert got == {"available": 3, "en_route": 1, "on_scene": 1}
    assert next(iter(got)) == "available"


def test_hourly_counts_put_each_case_in_its_hour_oldest_first() -> None:
    """Ending at 10:00: a case at 09:30 is in the last bucket, 08:59 the one before, older out."""
    end = T0 + timedelta(hours=10)
    opened = [
        T0 + timedelta(hours=9.5),
        T0 + timedelta(hours=9.9),
        T0 + timedelta(hours=8, minutes=59),
        T0 - timedelta(hours=20),
    ]
    got = kpis.hourly_counts(opened, end, hours=3)
    assert got == [0, 1, 2]


def test_kpis_of_gathers_every_figure_for_its_scope() -> None:
    """The pushed snapshot holds the same numbers the single functions give."""
    now = T0 + timedelta(hours=10)
    cases = [
        case(1, deadline_h=2),
        case(-3, closed_h=1, deadline_h=2, tier="village", status="archived"),
    ]
    got = kpis.kpis_of("320118000000", cases, ["online", "offline"], ["available"], T0, now)
    assert got.today_total == 1
    assert got.overdue == 1
    assert got.on_time_rate == 1.0
    assert got.resolved_low_share == 1.0
    assert got.camera_online_rate == 0.5 and got.cameras_offline == 1
    assert got.units_by_status == {"available": 1}
    assert sum(got.last_24h) == 2


def test_daily_counts_put_each_case_on_its_day_ending_today() -> None:
    """With today ending at the next midnight: today, yesterday, and 3 days back."""
    end = T0 + timedelta(days=1)
    opened = [T0 + timedelta(hours=5), T0 - timedelta(hours=1), T0 - timedelta(days=2, hours=1)]
    assert kpis.daily_counts(opened, end, days=4) == [1, 0, 1, 1]
