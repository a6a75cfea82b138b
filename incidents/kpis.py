"""The wall screen's key figures, each defined once as a pure function of data (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from incidents.vocabulary import Step

KPI_EVENT = "kpi.snapshot"  # one jurisdiction's figures, pushed to its walls
# Someone who may act on an overdue case has seen it: every wall stops flashing it.
OVERDUE_ACK_EVENT = "case.overdue_acknowledged"
LOW_TIERS = frozenset({"township", "village"})  # 矛盾不上交: resolved at township or below


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the figures need of one case (read by `incidents.store.kpi_queries`)."""

    channel: str
    category: str
    step: str
    status: str
    opened_at: datetime
    deadline_at: datetime | None = None
    closed_at: datetime | None = None
    resolution_tier: str | None = None
    reopen_count: int = 0


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (shown as a dash, never 0%)."""
    return part / whole if whole else None


def opened_since(cases: Iterable[CaseFacts], start: datetime) -> list[CaseFacts]:
    """The cases opened at or after `start` (e.g. local midnight for "today")."""
    return [c for c in cases if c.opened_at >= start]


def count_by_channel(cases: Iterable[CaseFacts]) -> dict[str, int]:
    """How many cases came in by each channel, most first."""
    return dict(Counter(c.channel for c in cases).most_common())


def count_by_category(cases: Iterable[CaseFacts]) -> dict[str, int]:
    """How many cases of each category, most first."""
    return dict(Counter(c.category for c in cases).most_common())


def open_by_step(cases: Iterable[CaseFacts]) -> dict[str, int]:
    """Open cases at each of the six steps, in the loop's order (steps with none show 0)."""
    counts = Counter(c.step for c in cases if c.status == "open")
    return {step.value: counts.get(step.value, 0) for step in Step}


def on_time_rate(cases: Iterable[CaseFacts]) -> float | None:
    """限时办结率: of the closed cases that had a deadline, the share closed by it."""
    timed = [
        (c.closed_at, c.deadline_at)
        for c in cases
        if c.closed_at is not None and c.deadline_at is not None
    ]
    return ratio(sum(1 for closed, due in timed if closed <= due), len(timed))


def resolved_low_share(cases: Iterable[CaseFacts]) -> float | None:
    """Of the closed cases with a known resolving tier, the share a township or village resolved."""
    known = [c for c in cases if c.closed_at is not None and c.resolution_tier]
    return ratio(sum(1 for c in known if c.resolution_tier in LOW_TIERS), len(known))


def reopen_rate(cases: Iterable[CaseFacts]) -> float | None:
    """Of the closed cases, the share that was reopened at least once (failed verification)."""
    closed = [c for c in cases if c.closed_at is not None]
    return ratio(sum(1 for c in closed if c.reopen_count > 0), len(closed))


def overdue_open(cases: Iterable[CaseFacts], now: datetime) -> int:
    """Open cases past their deadline at `now`."""
    return sum(
        1 for c in cases if c.status == "open" and c.deadline_at is not None and c.deadline_at < now
    )


def online_rate(statuses: Iterable[str]) -> float | None:
    """Camera online rate: cameras online (an alarm is a working camera) over all cameras."""
    listed = list(statuses)
    return ratio(sum(1 for s in listed if s in ("online", "alarm")), len(listed))


def units_by_status(statuses: Iterable[str]) -> dict[str, int]:
    """Units in each status, most first."""
    return dict(Counter(statuses).most_common())


def bucket_counts(opened: Iterable[datetime], end: datetime, width: timedelta, n: int) -> list[int]:
    """Cases opened in each of the `n` spans of `width` ending at `end` (oldest first)."""
    counts = [0] * n
    for at in opened:
        back = (end - at) // width
        if 0 <= back < n:
            counts[n - 1 - back] += 1
    return counts


def hourly_counts(opened: Iterable[datetime], end: datetime, hours: int = 24) -> list[int]:
    """Cases opened in each of the `hours` whole hours ending at `end` (oldest first)."""
    return bucket_counts(opened, end, timedelta(hours=1), hours)


def daily_counts(opened: Iterable[datetime], today_end: datetime, days: int = 30) -> list[int]:
    """Cases opened on each of the `days` days ending at `today_end` (local midnight next)."""
    return bucket_counts(opened, today_end, timedelta(days=1), days)


class PlanProgress(msgspec.Struct, frozen=True):
    """An active contingency plan: its name, its case, its level and its steps done."""

    plan_name: str
    case_no: str
    level: int
    done: int
    total: int


class Kpis(msgspec.Struct, frozen=True, kw_only=True):
    """The figures one jurisdiction's wall shows, as pushed in a `kpi.snapshot` event."""

    scope: str
    at: datetime
    today_total: int
    today_by_channel: dict[str, int]
    today_by_category: dict[str, int]
    open_by_step: dict[str, int]
    overdue: int
    on_time_rate: float | None
    resolved_low_share: float | None
    reopen_rate: float | None
    camera_online_rate: float | None
    cameras_offline: int
    units_by_status: dict[str, int]
    last_24h: list[int]
    last_30d: list[int]
    active_plans: list[PlanProgress]


def kpis_of(
    scope: str,
    cases: Sequence[CaseFacts],
    camera_statuses: Sequence[str],
    unit_statuses: Sequence[str],
    today_start: datetime,
    now: datetime,
    plans: Sequence[PlanProgress] = (),
) -> Kpis:
    """Every figure of one jurisdiction from its cases, cameras and units at `now`."""
    today = opened_since(cases, today_start)
    return Kpis(
        scope=scope,
        at=now,
        today_total=len(today),
        today_by_channel=count_by_channel(today),
        today_by_category=count_by_category(today),
        open_by_step=open_by_step(cases),
        overdue=overdue_open(cases, now),
        on_time_rate=on_time_rate(cases),
        resolved_low_share=resolved_low_share(cases),
        reopen_rate=reopen_rate(cases),
        camera_online_rate=online_rate(camera_statuses),
        cameras_offline=sum(1 for s in camera_statuses if s in ("offline", "fault")),
        units_by_status=units_by_status(unit_statuses),
        last_24h=hourly_counts((c.opened_at for c in cases), now),
        last_30d=daily_counts((c.opened_at for c in cases), today_start + timedelta(days=1)),
        active_plans=list(plans),
    )


_encoder = msgspec.json.Encoder()


def plain(figures: Kpis) -> dict[str, object]:
    """The figures as plain JSON-ready values (for a page to embed)."""
    out: dict[str, object] = msgspec.to_builtins(figures)
    return out


def kpi_event(figures: Kpis, now: datetime) -> bytes:
    """A `kpi.snapshot` event: the envelope of every event, routed by `township_code`."""
    return _encoder.encode(
        {
            "schema": "event/1",
            "type": KPI_EVENT,
            "at": now,
            "actor": "system:kpi",
            "township_code": figures.scope,
            "kpis": figures,
        }
    )


def overdue_ack_event(case_id: int, township_code: str | None, actor: str, now: datetime) -> bytes:
    """A `case.overdue_acknowledged` event for the walls of the case's township and above."""
    return _encoder.encode(
        {
            "schema": "event/1",
            "type": OVERDUE_ACK_EVENT,
            "at": now,
            "actor": actor,
            "case_id": case_id,
            "township_code": township_code,
        }
    )
