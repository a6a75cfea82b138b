"""The wall screen's key figures, each defined once as a pure function of data (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from incidents.case import Satisfaction
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
    overdue_count: int = 0  # step deadlines the case missed (the deadline job records each)


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
    """限时办结率: of the archived (办结) cases, the share that never missed a step deadline."""
    # Every step has its own deadline and the running one is cleared on verification, so
    # the record of a miss is the overdue count; a deadline still set must not be past either.
    done = [c for c in cases if c.status == "archived" and c.closed_at is not None]
    return ratio(sum(1 for c in done if _on_time(c)), len(done))


def _on_time(case: CaseFacts) -> bool:
    closed, due = case.closed_at, case.deadline_at
    return case.overdue_count == 0 and (due is None or closed is None or closed <= due)


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


# --- response times, verification and satisfaction (the evaluation issue reuses these) ------


@dataclass(frozen=True, slots=True)
class CaseTimes:
    """When a case was opened, first dispatched and first had a unit on scene."""

    opened_at: datetime
    first_dispatch_at: datetime | None = None
    first_arrival_at: datetime | None = None


class Durations(msgspec.Struct, frozen=True):
    """The median and 90th percentile of some waits in seconds, and how many were measured."""

    median_s: float | None
    p90_s: float | None
    count: int


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) by linear interpolation, like PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def durations(seconds: Sequence[float]) -> Durations:
    """Median and p90 of `seconds` (None for both when there are none)."""
    return Durations(percentile(seconds, 0.5), percentile(seconds, 0.9), len(seconds))


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def time_to_dispatch(times: Iterable[CaseTimes], start: datetime, end: datetime) -> Durations:
    """派遣用时: opened → first dispatch, over the cases first dispatched in [start, end)."""
    return durations(
        [
            (t.first_dispatch_at - t.opened_at).total_seconds()
            for t in times
            if t.first_dispatch_at is not None and _within(t.first_dispatch_at, start, end)
        ]
    )


def time_to_arrival(times: Iterable[CaseTimes], start: datetime, end: datetime) -> Durations:
    """到场用时: first dispatch → first unit on scene, cases first reached in [start, end)."""
    return durations(
        [
            (t.first_arrival_at - t.first_dispatch_at).total_seconds()
            for t in times
            if t.first_dispatch_at is not None
            and t.first_arrival_at is not None
            and _within(t.first_arrival_at, start, end)
        ]
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """One verification (任务核查): when, and whether it passed (a failure reopens the case)."""

    at: datetime
    passed: bool


def verification_pass_rate(
    verdicts: Iterable[Verdict], start: datetime, end: datetime
) -> float | None:
    """核查通过率: of the verifications made in [start, end), the share that passed."""
    made = [v for v in verdicts if start <= v.at < end]
    return ratio(sum(1 for v in made if v.passed), len(made))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One archived case's evaluation: when, and the reporter's verdict (None: none given)."""

    at: datetime
    satisfaction: str | None


class SatisfactionFigures(msgspec.Struct, frozen=True):
    """群众满意度: the share satisfied of those evaluated, and the count at each level."""

    rate: float | None
    evaluated: int
    by_level: dict[str, int]


def satisfaction(
    evaluations: Iterable[Evaluation], start: datetime, end: datetime
) -> SatisfactionFigures:
    """群众满意率: of the cases archived in [start, end) with the reporter's verdict, the share
    满意 or 基本满意 (as 12345 and grid evaluations count it; the breakdown keeps them apart).

    An archive without a verdict (the reporter could not be reached) is left out.
    """
    given = [e.satisfaction for e in evaluations if start <= e.at < end and e.satisfaction]
    counts = Counter(given)
    levels = {level.value: counts.get(level.value, 0) for level in Satisfaction}
    content = levels[Satisfaction.SATISFIED.value] + levels[Satisfaction.BASICALLY_SATISFIED.value]
    return SatisfactionFigures(ratio(content, len(given)), len(given), levels)


class PeriodKpis(msgspec.Struct, frozen=True, kw_only=True):
    """A jurisdiction's figures over one period [start, end) (the director's trends page)."""

    scope: str
    start: datetime
    end: datetime
    opened: int
    by_channel: dict[str, int]
    by_category: dict[str, int]
    open_by_step: dict[str, int]
    on_time_rate: float | None
    time_to_dispatch: Durations
    time_to_arrival: Durations
    resolved_low_share: float | None
    verification_pass_rate: float | None
    reopen_rate: float | None
    satisfaction: SatisfactionFigures
    camera_online_rate: float | None
    units_available: int


def _closed_within(cases: Iterable[CaseFacts], start: datetime, end: datetime) -> list[CaseFacts]:
    return [c for c in cases if _within(c.closed_at, start, end)]


def period_kpis_of(
    scope: str,
    start: datetime,
    end: datetime,
    cases: Sequence[CaseFacts],
    times: Sequence[CaseTimes],
    verdicts: Sequence[Verdict],
    evaluations: Sequence[Evaluation],
    camera_statuses: Sequence[str],
    unit_statuses: Sequence[str],
) -> PeriodKpis:
    """Every figure over [start, end): flows by when they happened, stocks as they are now."""
    opened = [c for c in cases if start <= c.opened_at < end]
    closed = _closed_within(cases, start, end)
    return PeriodKpis(
        scope=scope,
        start=start,
        end=end,
        opened=len(opened),
        by_channel=count_by_channel(opened),
        by_category=count_by_category(opened),
        open_by_step=open_by_step(cases),
        on_time_rate=on_time_rate(closed),
        time_to_dispatch=time_to_dispatch(times, start, end),
        time_to_arrival=time_to_arrival(times, start, end),
        resolved_low_share=resolved_low_share(closed),
        verification_pass_rate=verification_pass_rate(verdicts, start, end),
        reopen_rate=reopen_rate(closed),
        satisfaction=satisfaction(evaluations, start, end),
        camera_online_rate=online_rate(camera_statuses),
        units_available=sum(1 for s in unit_statuses if s == "available"),
    )
