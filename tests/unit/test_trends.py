"""KPI trends: bucketing by hour and by day, each bucket rated by the KPI's own definition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents import trends
from incidents.kpis import CaseTimes
from tests.unit.test_kpis import case

T0 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=10)


def test_buckets_are_start_inclusive_and_oldest_first() -> None:
    """With 24 hours ending at NOW: NOW-1h opens the newest bucket, NOW itself is in none,
    NOW-24h opens the oldest, anything earlier is in none."""
    spans = trends.last_24_hours(NOW)
    hour = timedelta(hours=1)
    assert spans.index(NOW - hour) == 23
    assert spans.index(NOW - timedelta(minutes=1)) == 23
    assert spans.index(NOW - hour - timedelta(seconds=1)) == 22
    assert spans.index(NOW) is None
    assert spans.index(NOW - 24 * hour) == 0
    assert spans.index(NOW - 24 * hour - timedelta(seconds=1)) is None
    assert spans.index(None) is None
    starts = spans.starts()
    assert (len(starts), starts[0], starts[-1]) == (24, NOW - 24 * hour, NOW - hour)


def test_opened_series_counts_each_hour_and_each_day() -> None:
    """Three cases in the last hour, one 3 h ago; by day, today's four and one 29 days back."""
    opened = [NOW - timedelta(minutes=m) for m in (1, 20, 59, 170)]
    opened.append(T0 - timedelta(days=29) + timedelta(hours=1))
    hourly = trends.opened_series(opened, trends.last_24_hours(NOW))
    assert hourly[-1] == 3 and hourly[-3] == 1 and sum(hourly) == 4
    daily = trends.opened_series(opened, trends.last_30_days(T0 + timedelta(days=1)))
    assert daily[-1] == 4 and daily[0] == 1 and sum(daily) == 5


def test_rate_series_rate_the_cases_closed_in_each_bucket_and_leave_empty_ones_none() -> None:
    """Hour 9–10: one on time, one late and reopened → on-time 0.5, reopen 0.5; empty hours None."""
    closed = [
        case(1, closed_h=9.5, deadline_h=9.9, status="archived"),
        case(1, closed_h=9.7, deadline_h=9.0, reopened=1, status="archived"),
        case(1, closed_h=8.5, deadline_h=9.0, status="archived"),
    ]
    spans = trends.last_24_hours(NOW)
    on_time = trends.on_time_series(closed, spans)
    reopen = trends.reopen_series(closed, spans)
    assert on_time[-1] == 0.5 and on_time[-2] == 1.0 and on_time[0] is None
    assert reopen[-1] == 0.5 and reopen[-2] == 0.0 and reopen[0] is None


def test_dispatch_median_series_uses_the_first_dispatch_of_each_bucket() -> None:
    """Waits of 2 and 4 minutes dispatched in the last hour → 180 s; others None."""
    times = [
        CaseTimes(NOW - timedelta(minutes=30), NOW - timedelta(minutes=28)),
        CaseTimes(NOW - timedelta(minutes=40), NOW - timedelta(minutes=36)),
        CaseTimes(NOW - timedelta(minutes=5)),
    ]
    series = trends.dispatch_median_series(times, trends.last_24_hours(NOW))
    assert series[-1] == 180.0 and series[:-1] == [None] * 23


def test_trend_of_holds_every_series_over_the_same_buckets() -> None:
    """Every series is as long as the span set and the starts match."""
    spans = trends.last_30_days(T0 + timedelta(days=1))
    got = trends.trend_of(spans, [], [], [])
    assert got.starts == spans.starts()
    assert got.opened == [0] * 30
    assert got.on_time_rate == got.reopen_rate == got.dispatch_median_s == [None] * 30
