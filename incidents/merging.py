"""Many calls, one case (几十个电话变成一个电话): the merge rule, manual merge and split.

A new report of the same category, close to an open case and inside its time window, is
attached to that case as a linked report instead of opening a new case. The thresholds are
configuration (`MergeRules`); an officer can also merge two cases or split a report off.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from incidents.case import Case, Jurisdiction, LinkKind, Location, Report
from incidents.commands import LinkReports, MergeInto, UnlinkReport
from incidents.deadlines import DEFAULT_DEADLINE_RULES, DeadlineRules
from incidents.events import Event
from incidents.lifecycle import IllegalMove, Move, apply, open_case
from incidents.vocabulary import Category, Step, Tier

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class MergeRule:
    """Reports this close in space and time describe the same incident."""

    max_distance_m: float
    window: timedelta

    def __post_init__(self) -> None:
        if self.max_distance_m < 0 or self.window < timedelta(0):
            raise ValueError("merge distance and window must not be negative")


@dataclass(frozen=True)
class MergeRules:
    """The merge rule per category; a category missing from `by_category` never auto-merges."""

    by_category: Mapping[Category, MergeRule] = field(default_factory=dict)

    def rule_for(self, category: Category) -> MergeRule | None:
        """The rule for one category, or None when its reports always open their own case."""
        return self.by_category.get(category)


# Why these numbers: a fire or a crash is seen from far away and called in for an hour; a
# dispute is the same neighbours calling again the same day; petitions are matched by person,
# not place, so they never auto-merge.
DEFAULT_MERGE_RULES = MergeRules(
    by_category=MappingProxyType(
        {
            Category.FIRE: MergeRule(500, timedelta(hours=1)),
            Category.TRAFFIC: MergeRule(300, timedelta(hours=1)),
            Category.EMERGENCY: MergeRule(500, timedelta(hours=2)),
            Category.MASS_INCIDENT: MergeRule(500, timedelta(hours=2)),
            Category.SAFETY_PRODUCTION: MergeRule(300, timedelta(hours=2)),
            Category.PUBLIC_SECURITY: MergeRule(200, timedelta(minutes=30)),
            Category.SPECIAL_POPULATION: MergeRule(100, timedelta(hours=2)),
            Category.DISPUTE: MergeRule(50, timedelta(hours=24)),
            Category.PUBLIC_SERVICE: MergeRule(300, timedelta(hours=12)),
            Category.OTHER: MergeRule(100, timedelta(minutes=30)),
        }
    )
)


def distance_m(a: Location, b: Location) -> float:
    """Great-circle distance in metres between two WGS-84 points (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class MergeCandidateQuery:
    """What to fetch as merge candidates: open cases of `category` in the box, recent enough."""

    category: Category
    reported_since: datetime
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    # Tighter than the box, for a store that can filter by them: a case reported after
    # `reported_until` cannot match, nor one farther than `max_distance_m` from (lon, lat).
    reported_until: datetime
    lon: float
    lat: float
    max_distance_m: float


def candidate_query(
    report: Report, rules: MergeRules = DEFAULT_MERGE_RULES
) -> MergeCandidateQuery | None:
    """A coarse pre-filter for the repository (a bounding box); `find_merge_target` decides.

    Select open cases of the category whose last report is at or after `reported_since` and
    whose location lies in the box. None: this category never auto-merges.
    """
    rule = rules.rule_for(report.category)
    if rule is None:
        return None
    dlat = math.degrees(rule.max_distance_m / EARTH_RADIUS_M)
    # Longitude degrees shrink towards the poles; widen the box by the latitude's cosine.
    cos_lat = max(math.cos(math.radians(report.location.lat)), 1e-6)
    dlon = min(180.0, dlat / cos_lat)
    return MergeCandidateQuery(
        category=report.category,
        reported_since=report.reported_at - rule.window,
        min_lon=report.location.lon - dlon,
        min_lat=report.location.lat - dlat,
        max_lon=report.location.lon + dlon,
        max_lat=report.location.lat + dlat,
        reported_until=report.reported_at + rule.window,
        lon=report.location.lon,
        lat=report.location.lat,
        max_distance_m=rule.max_distance_m,
    )


def matches(report: Report, case: Case, rules: MergeRules = DEFAULT_MERGE_RULES) -> bool:
    """Whether the merge rule attaches `report` to `case`."""
    rule = rules.rule_for(report.category)
    return (
        rule is not None
        and _accepts_reports(case)
        and case.category is report.category
        and report.source_id != case.source_id
        and case.reported_at - rule.window
        <= report.reported_at
        <= case.last_report_at + rule.window
        and distance_m(report.location, case.location) <= rule.max_distance_m
    )


def find_merge_target(
    report: Report, open_cases: Iterable[Case], rules: MergeRules = DEFAULT_MERGE_RULES
) -> Case | None:
    """The case a new report belongs to, or None to open a new case.

    Of all matching cases: the nearest, then the most recently reported, then the oldest id.
    """
    best: tuple[float, float, int] | None = None
    chosen: Case | None = None
    for case in open_cases:
        if not matches(report, case, rules):
            continue
        key = (
            distance_m(report.location, case.location),
            -case.last_report_at.timestamp(),
            case.case_id,
        )
        if best is None or key < best:
            best, chosen = key, case
    return chosen


def link_report(
    case: Case,
    report: Report,
    *,
    actor: str,
    now: datetime,
    how: LinkKind = LinkKind.AUTO,
    reason: str | None = None,
) -> tuple[Case, list[Event]]:
    """Attach one report to a case (emits `case.report_linked` with its source_id)."""
    return apply(
        case,
        LinkReports(
            actor=actor, reason=reason, causation_id=report.source_id, reports=(report,), how=how
        ),
        now,
    )


def report_of(case: Case) -> Report:
    """The report that opened a case."""
    return Report(
        source_id=case.source_id,
        channel=case.channel,
        category=case.category,
        summary=case.summary,
        location=case.location,
        reported_at=case.reported_at,
        severity=case.severity,
        reporter=case.reporter,
    )


@dataclass(frozen=True, slots=True)
class MergeResult:
    """Both cases after a manual merge, and each one's new events (store both, one tx)."""

    duplicate: Case
    target: Case
    duplicate_events: tuple[Event, ...]
    target_events: tuple[Event, ...]


def merge_cases(
    duplicate: Case,
    target: Case,
    *,
    duplicate_linked: Sequence[Report] = (),
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> MergeResult:
    """Fold `duplicate` into `target`: its reports become linked reports, it closes as merged.

    `duplicate_linked` are the reports linked to the duplicate (the store keeps them), in the
    order they were linked. Raises IllegalMove (naming the case that refuses) and changes
    nothing on error.
    """
    if len(duplicate_linked) != duplicate.report_count - 1:
        raise ValueError(
            f"case #{duplicate.case_id} stands for {duplicate.report_count} reports;"
            f" {len(duplicate_linked) + 1} were given"
        )
    if duplicate.case_id == target.case_id:
        raise IllegalMove(duplicate, Move.MERGE_INTO, "a case cannot be merged into itself")
    new_target, target_events = apply(
        target,
        LinkReports(
            actor=actor,
            reason=reason,
            causation_id=duplicate.case_no,
            reports=(report_of(duplicate), *duplicate_linked),
            how=LinkKind.MERGED,
            merged_from_case_id=duplicate.case_id,
        ),
        now,
    )
    new_duplicate, duplicate_events = apply(
        duplicate,
        MergeInto(
            actor=actor,
            reason=reason,
            causation_id=target.case_no,
            target_case_id=target.case_id,
            target_case_no=target.case_no,
        ),
        now,
    )
    return MergeResult(
        duplicate=new_duplicate,
        target=new_target,
        duplicate_events=tuple(duplicate_events),
        target_events=tuple(target_events),
    )


@dataclass(frozen=True, slots=True)
class SplitResult:
    """The case a report left, the new case it opened, and each one's events."""

    case: Case
    new_case: Case
    case_events: tuple[Event, ...]
    new_case_events: tuple[Event, ...]


def split_report(
    case: Case,
    report: Report,
    *,
    new_case_id: int,
    new_case_no: str,
    jurisdiction: Jurisdiction,
    actor: str,
    reason: str,
    now: datetime,
    category: Category | None = None,
    owning_tier: Tier | None = None,
    rules: DeadlineRules = DEFAULT_DEADLINE_RULES,
) -> SplitResult:
    """Detach a linked report that is a different incident and open its own case.

    `report` is the linked report as the store keeps it (the caller checks it is linked to
    this case); `jurisdiction` locates it (from geo); `category` corrects it if it differs;
    the new case starts at intake at `owning_tier` (default: the old case's tier).
    """
    new_case_after, case_events = apply(
        case, UnlinkReport(actor=actor, reason=reason, source_id=report.source_id), now
    )
    if category is not None:
        report = Report(
            source_id=report.source_id,
            channel=report.channel,
            category=category,
            summary=report.summary,
            location=report.location,
            reported_at=report.reported_at,
            reporter=report.reporter,
        )
    tier = owning_tier if owning_tier is not None else case.owning_tier
    if jurisdiction.code_at(tier) is None:
        tier = Tier.COUNTY
    new_case, new_events = open_case(
        report,
        case_id=new_case_id,
        case_no=new_case_no,
        jurisdiction=jurisdiction,
        actor=actor,
        now=now,
        owning_tier=tier,
        split_from_case_id=case.case_id,
        reason=reason,
        causation_id=case.case_no,
        rules=rules,
    )
    return SplitResult(
        case=new_case_after,
        new_case=new_case,
        case_events=tuple(case_events),
        new_case_events=tuple(new_events),
    )


def _accepts_reports(case: Case) -> bool:
    # A verified case is finished work: a fresh report means something new has happened.
    return case.is_open and case.step not in (Step.ARCHIVE,)
