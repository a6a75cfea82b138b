"""KPI trends: the figures of `incidents.kpis` per hour over 24 h and per day over 30 days.

Each bucket's value is the KPI's own definition applied to the facts that fall in it, so a
trend never disagrees with its tile. Pure: the end of the last bucket is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from incidents.kpis import (
    CaseFacts,
    CaseTimes,
    on_time_rate,
    reopen_rate,
    time_to_dispatch,
)

T = TypeVar("T")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Spans(msgspec.Struct, frozen=True):
    """`n` back-to-back buckets of `width` ending at `end`, oldest first."""

    end: datetime
    width: timedelta
    n: int

    def starts(self) -> list[datetime]:
        """The start of each bucket, oldest first."""
        return [self.end - self.width * (self.n - i) for i in range(self.n)]

    def index(self, at: datetime | None) -> int | None:
        """Which bucket `at` falls in (start inclusive, end exclusive), or None if none."""
        if at is None or at >= self.end:
            return None
        back = (self.end - at) // self.width  # 0 for the newest bucket
        # A moment exactly on a boundary opens the later bucket: [start, end).
        if (self.end - at) % self.width == timedelta(0):
            back -= 1
        return self.n - 1 - back if 0 <= back < self.n else None


def last_24_hours(now: datetime) -> Spans:
    """24 rolling hours ending at `now`."""
    return Spans(now, HOUR, 24)


def last_30_days(today_end: datetime) -> Spans:
    """30 local days ending at the coming midnight (`today_end`), today last."""
    return Spans(today_end, DAY, 30)


def bucketed(
    items: Iterable[T], at_of: Callable[[T], datetime | None], spans: Spans
) -> list[list[T]]:
    """The items in each bucket by the moment `at_of` gives (items outside every bucket dropped)."""
    buckets: list[list[T]] = [[] for _ in range(spans.n)]
    for item in items:
        i = spans.index(at_of(item))
        if i is not None:
            buckets[i].append(item)
    return buckets


def opened_series(opened: Iterable[datetime], spans: Spans) -> list[int]:
    """Cases opened in each bucket."""
    return [len(b) for b in bucketed(opened, lambda at: at, spans)]


def on_time_series(closed: Iterable[CaseFacts], spans: Spans) -> list[float | None]:
    """限时办结率 of the cases closed in each bucket."""
    return [on_time_rate(b) for b in bucketed(closed, lambda c: c.closed_at, spans)]


def reopen_series(closed: Iterable[CaseFacts], spans: Spans) -> list[float | None]:
    """Reopen rate (重办率) of the cases closed in each bucket."""
    return [reopen_rate(b) for b in bucketed(closed, lambda c: c.closed_at, spans)]


def dispatch_median_series(times: Iterable[CaseTimes], spans: Spans) -> list[float | None]:
    """Median time to dispatch (seconds) of the cases first dispatched in each bucket."""
    buckets = bucketed(times, lambda t: t.first_dispatch_at, spans)
    return [
        time_to_dispatch(b, start, start + spans.width).median_s
        for b, start in zip(buckets, spans.starts(), strict=True)
    ]


class Trend(msgspec.Struct, frozen=True, kw_only=True):
    """The trend series of one jurisdiction over one span set (values None: nothing to rate)."""

    starts: list[datetime]
    opened: list[int]
    on_time_rate: list[float | None]
    dispatch_median_s: list[float | None]
    reopen_rate: list[float | None]


def trend_of(
    spans: Spans,
    opened: Sequence[datetime],
    closed: Sequence[CaseFacts],
    times: Sequence[CaseTimes],
) -> Trend:
    """Every series over `spans` from the moments, closed cases and response times read."""
    return Trend(
        starts=spans.starts(),
        opened=opened_series(opened, spans),
        on_time_rate=on_time_series(closed, spans),
        dispatch_median_s=dispatch_median_series(times, spans),
        reopen_rate=reopen_series(closed, spans),
    )
