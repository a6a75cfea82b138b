"""Many calls, one case: the merge rule, manual merge and split."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.case import CaseStatus, LinkKind, Location, Report, Reporter
from incidents.commands import Accept, LinkReports, Reject
from incidents.events import Event, EventType, event_json
from incidents.lifecycle import IllegalMove, invariant_violations, replay
from incidents.merging import (
    DEFAULT_MERGE_RULES,
    EARTH_RADIUS_M,
    MergeRule,
    MergeRules,
    candidate_query,
    distance_m,
    find_merge_target,
    link_report,
    matches,
    merge_cases,
    split_report,
)
from incidents.store.intake_store import reach_degrees
from incidents.vocabulary import Category, Channel, Step
from tests.unit.lifecycle_fixtures import GAOCHUN, OLD_STREET, T0, drive_to, new_case, report

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "intake-valid.jsonl"


def to_json(event: Event) -> dict[str, Any]:
    """The event's log document as plain data."""
    document: dict[str, Any] = json.loads(event_json(event))
    return document


def moved(location: Location, north_m: float, east_m: float) -> Location:
    """A point `north_m` north and `east_m` east of `location`."""
    lat = location.lat + math.degrees(north_m / EARTH_RADIUS_M)
    lon = location.lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return Location(lon, lat)


def sample_report(line: int) -> Report:
    """A report from the shared intake samples, as ingest would pass it on."""
    data = json.loads(SAMPLES.read_text(encoding="utf-8").splitlines()[line])
    return Report(
        source_id=data["source_id"],
        channel=Channel(data["channel"]),
        category=Category(data["category"]),
        summary=data["summary"],
        location=Location(data["location"]["lon"], data["location"]["lat"]),
        reported_at=datetime.fromisoformat(data["reported_at"]),
        reporter=Reporter(**data.get("reporter", {})),
    )


def test_the_two_calls_about_the_old_street_fight_become_one_case() -> None:
    """The sample's second 110 call, 45 s later and ~50 m away, joins the first call's case."""
    first, second = sample_report(0), sample_report(1)
    driver = new_case(at=first.reported_at, source_id=first.source_id)
    assert distance_m(first.location, second.location) < 60
    target = find_merge_target(second, [driver.case])
    assert target is driver.case
    case, events = link_report(target, second, actor="system:ingest", now=second.reported_at)
    assert [e.type for e in events] == [EventType.REPORT_LINKED]
    assert to_json(events[0])["source_id"] == second.source_id
    assert events[0].causation_id == second.source_id
    assert (case.report_count, case.last_report_at) == (2, second.reported_at)
    assert to_json(events[0])["how"] == LinkKind.AUTO.value


def test_distance_is_the_great_circle_in_metres() -> None:
    """One degree of latitude is about 111.2 km; a point is 0 m from itself."""
    assert distance_m(OLD_STREET, OLD_STREET) == 0
    north = Location(OLD_STREET.lon, OLD_STREET.lat + 1)
    assert distance_m(OLD_STREET, north) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(OLD_STREET, moved(OLD_STREET, 300, 400)) == pytest.approx(500, rel=1e-4)


MERGING_CATEGORIES = sorted(DEFAULT_MERGE_RULES.by_category, key=str)


@pytest.mark.parametrize("category", MERGING_CATEGORIES)
def test_each_category_merges_inside_its_distance_and_window_only(category: Category) -> None:
    """Just inside the rule's distance and window: merge; just outside either: a new case."""
    rule = DEFAULT_MERGE_RULES.rule_for(category)
    assert rule is not None
    case = new_case(category=category).case

    def candidate(metres: float, after: timedelta, source_id: str = "later") -> Report:
        return report(
            source_id,
            category=category,
            location=moved(OLD_STREET, metres * 0.6, metres * 0.8),
            reported_at=T0 + after,
        )

    assert matches(candidate(rule.max_distance_m * 0.98, rule.window), case)
    assert not matches(candidate(rule.max_distance_m * 1.02, timedelta(0)), case)
    assert not matches(candidate(0, rule.window + timedelta(seconds=1)), case)
    assert matches(candidate(0, -rule.window), case), "a report delayed in transit still merges"
    assert not matches(candidate(0, -rule.window - timedelta(seconds=1)), case)


def test_petitions_never_merge_by_place() -> None:
    """Two petitions from one address are matched by person, not by the merge rule."""
    case = new_case(category=Category.PETITION).case
    later = report("petition-2", category=Category.PETITION, reported_at=T0)
    assert DEFAULT_MERGE_RULES.rule_for(Category.PETITION) is None
    assert find_merge_target(later, [case]) is None
    assert candidate_query(later) is None


def test_a_report_of_another_category_opens_its_own_case() -> None:
    """A fire next to a fight is a different incident."""
    case = new_case(category=Category.PUBLIC_SECURITY).case
    assert find_merge_target(report("fire-1", category=Category.FIRE), [case]) is None


def test_closed_or_verified_cases_take_no_new_reports_but_cases_in_handling_do() -> None:
    """A rejected or verified case attracts nothing; one with units on scene does."""
    rejected = new_case(case_id=1)
    rejected.do(Reject(actor="duty-a", reason="x"))
    verified = drive_to(new_case(case_id=2), Step.ARCHIVE)
    handling = drive_to(new_case(case_id=3), Step.FEEDBACK)
    later = report("later", reported_at=T0 + timedelta(minutes=10))
    assert not matches(later, rejected.case)
    assert not matches(later, verified.case)
    assert find_merge_target(later, [rejected.case, verified.case, handling.case]) is handling.case


def test_a_report_already_on_the_case_is_not_merged_again() -> None:
    """The same source_id twice is one report."""
    case = new_case().case
    assert find_merge_target(report(case.source_id), [case]) is None


def test_the_nearest_case_wins_then_the_latest_then_the_oldest_id() -> None:
    """Of several matching cases the choice is deterministic."""
    far = new_case(case_id=1).case
    near_old = new_case(case_id=2, at=T0 - timedelta(minutes=5)).case
    near_new = new_case(case_id=3).case
    near_twin = new_case(case_id=4).case
    later = report("later", location=moved(OLD_STREET, 10, 0), reported_at=T0)
    far = msgspec.structs.replace(far, location=moved(OLD_STREET, 150, 0))
    assert find_merge_target(later, [far, near_old, near_new, near_twin]) is near_new
    assert find_merge_target(later, [far, near_old]) is near_old


def test_the_window_runs_from_the_latest_linked_report() -> None:
    """Calls every 20 minutes keep joining one fight (window 30 minutes from the last call)."""
    case = new_case().case
    for n in range(1, 5):
        call = report(f"call-{n}", reported_at=T0 + n * timedelta(minutes=20))
        assert find_merge_target(call, [case]) is case
        case, _ = link_report(case, call, actor="system:ingest", now=call.reported_at)
    assert case.report_count == 5
    assert case.last_report_at == T0 + 4 * timedelta(minutes=20)


def test_rules_are_configuration() -> None:
    """A county can widen the rule, or switch a category off."""
    case = new_case().case
    far = report("far", location=moved(OLD_STREET, 1_000, 0), reported_at=T0)
    assert find_merge_target(far, [case]) is None
    wide = MergeRules(by_category={Category.PUBLIC_SECURITY: MergeRule(2_000, timedelta(hours=1))})
    assert find_merge_target(far, [case], wide) is case
    assert find_merge_target(report("near"), [case], MergeRules()) is None
    with pytest.raises(ValueError, match="negative"):
        MergeRule(-1, timedelta(minutes=1))


@settings(max_examples=300, derandomize=True, database=None)
@given(
    st.floats(-60, 60),
    st.floats(0, 1.0),
    st.floats(0, 2 * math.pi),
    st.sampled_from(MERGING_CATEGORIES),
)
def test_the_candidate_box_holds_every_point_the_rule_could_merge(
    lat: float, share: float, bearing: float, category: Category
) -> None:
    """Any case the rule would accept lies inside the repository pre-filter box."""
    rule = DEFAULT_MERGE_RULES.rule_for(category)
    assert rule is not None
    here = Location(118.87, lat)
    metres = rule.max_distance_m * share
    there = moved(here, metres * math.cos(bearing), metres * math.sin(bearing))
    if distance_m(here, there) > rule.max_distance_m:
        return
    query = candidate_query(
        Report("x", Channel.GRID, category, "s", here, T0, None, None), DEFAULT_MERGE_RULES
    )
    assert query is not None
    assert query.min_lon <= there.lon <= query.max_lon
    assert query.min_lat <= there.lat <= query.max_lat
    assert query.reported_since == T0 - rule.window and query.category is category
    # The store's tighter filter (equirectangular, with its margin) keeps every true match.
    cos2 = math.cos(math.radians(query.lat)) ** 2
    spread = (there.lon - query.lon) ** 2 * cos2 + (there.lat - query.lat) ** 2
    assert spread <= reach_degrees(query.max_distance_m) ** 2
    assert query.reported_until == T0 + rule.window


# --- manual merge and split -------------------------------------------------------------------


def test_a_manual_merge_moves_every_report_and_closes_the_duplicate() -> None:
    """合并: the duplicate's own and linked reports join the target; it closes as merged."""
    target = drive_to(new_case(case_id=1), Step.DISPATCH)
    duplicate = new_case(case_id=2, source_id="12345-9")
    duplicate.do(Accept(actor="duty-b"))
    linked = report("12345-10")
    duplicate.do(LinkReports(actor="duty-b", reports=(linked,)))
    with pytest.raises(ValueError, match="stands for 2 reports"):
        merge_cases(duplicate.case, target.case, actor="duty-a", now=T0 + timedelta(hours=1))
    result = merge_cases(
        duplicate.case,
        target.case,
        duplicate_linked=(linked,),
        actor="duty-a",
        now=T0 + timedelta(hours=1),
    )
    assert result.duplicate.status is CaseStatus.MERGED
    assert result.duplicate.closure is not None
    assert result.duplicate.closure.merged_into_case_no == target.case.case_no
    assert result.target.report_count == 3
    linked_events = [to_json(e) for e in result.target_events]
    assert [e["source_id"] for e in linked_events] == ["12345-9", "12345-10"]
    assert {e["how"] for e in linked_events} == {LinkKind.MERGED.value}
    assert {e["merged_from_case_id"] for e in linked_events} == {2}
    assert [e.type for e in result.duplicate_events] == [EventType.MERGED]
    assert [e.type for e in result.target_events] == [EventType.REPORT_LINKED] * 2
    assert replay([*target.log, *result.target_events]) == result.target
    assert replay([*duplicate.log, *result.duplicate_events]) == result.duplicate
    for case in (result.duplicate, result.target):
        assert invariant_violations(case) == ()


@pytest.mark.parametrize(
    ("duplicate_step", "target_step", "words"),
    [
        (Step.DISPATCH, Step.REPORT, "not a move"),
        (Step.INTAKE, Step.ARCHIVE, "not a move"),
    ],
)
def test_a_merge_is_refused_whole_when_either_side_cannot_take_it(
    duplicate_step: Step, target_step: Step, words: str
) -> None:
    """A dispatched duplicate, or a verified target, stops the merge; neither case changes."""
    target = drive_to(new_case(case_id=1), target_step)
    duplicate = drive_to(new_case(case_id=2, source_id="other"), duplicate_step)
    with pytest.raises(IllegalMove, match=words):
        merge_cases(duplicate.case, target.case, actor="duty-a", now=T0 + timedelta(hours=1))


def test_a_case_cannot_be_merged_into_itself() -> None:
    """Merging needs two cases."""
    case = new_case().case
    with pytest.raises(IllegalMove, match="itself"):
        merge_cases(case, case, actor="duty-a", now=T0)


def test_a_split_opens_a_new_case_from_a_linked_report() -> None:
    """拆分: the report leaves its case and opens a case of its own, at intake, traceably."""
    driver = drive_to(new_case(case_id=1), Step.FEEDBACK)
    stray = report("12345-77", location=moved(OLD_STREET, 80, 0), reported_at=T0)
    driver.case, _ = link_report(driver.case, stray, actor="system:ingest", now=driver.now)
    result = split_report(
        driver.case,
        stray,
        new_case_id=9,
        new_case_no="320118-20261126-0009",
        jurisdiction=GAOCHUN,
        actor="duty-a",
        reason="另一起纠纷",
        now=driver.now + timedelta(minutes=1),
        category=Category.DISPUTE,
    )
    assert result.case.report_count == 1
    new = result.new_case
    assert (new.case_id, new.step, new.category, new.source_id) == (
        9,
        Step.INTAKE,
        Category.DISPUTE,
        "12345-77",
    )
    assert new.split_from_case_id == 1 and new.owning_tier is driver.case.owning_tier
    assert [e.type for e in result.case_events] == [EventType.REPORT_UNLINKED]
    assert [e.type for e in result.new_case_events] == [EventType.OPENED]
    assert result.new_case_events[0].causation_id == driver.case.case_no


def test_only_a_linked_report_can_be_split_off() -> None:
    """The first report, or one not on the case, cannot be split."""
    case = new_case().case
    for source_id in (case.source_id, "nope"):
        with pytest.raises(IllegalMove, match="unlink_report"):
            split_report(
                case,
                report(source_id),
                new_case_id=9,
                new_case_no="n",
                jurisdiction=GAOCHUN,
                actor="duty-a",
                reason="x",
                now=T0,
            )


@given(
    step=st.sampled_from([Step.INTAKE, Step.REPORT, Step.DISPATCH, Step.FEEDBACK, Step.VERIFY]),
    links=st.integers(1, 4),
)
@settings(max_examples=30, deadline=None, derandomize=True, database=None)
def test_linking_changes_only_what_the_intake_store_writes(step: Step, links: int) -> None:
    """case_store.update_linked_cases writes only these fields; linking must touch no other."""
    case = drive_to(new_case(), step).case
    written = {"report_count", "latest_report_at", "version", "last_seq"}
    for n in range(links):
        call = report(f"call-{n}", reported_at=T0 + n * timedelta(minutes=1))
        after, _ = link_report(case, call, actor="system:ingest", now=T0 + timedelta(hours=1))
        changed = {
            name for name in after.__struct_fields__ if getattr(after, name) != getattr(case, name)
        }
        assert changed <= written, changed - written
        case = after
