"""The simulated report feed: rhythm, hot spots, repeat callers, malformed share, the seed."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from geo.pack import load_demo_pack
from realtime.intake_contract import IntakeRejected, decode_document
from realtime.sim_clock import SimClock
from realtime.sim_places import SpotKind, distance_m, hot_spots
from realtime.sim_reports import (
    CHINA,
    REPEAT_RADIUS_M,
    REPEAT_WITHIN,
    Draft,
    DraftKind,
    FeedSettings,
    Malformed,
    ReportFeed,
    encode,
    intensity,
)

MONDAY = datetime(2026, 11, 23, tzinfo=CHINA)
STAMP = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def one_day(seed: int, rate: float = 0.05, **settings: float) -> list[Draft]:
    feed = ReportFeed(
        hot_spots(load_demo_pack()), FeedSettings(f"s{seed}", **settings), random.Random(seed)
    )
    out: list[Draft] = []
    for minute in range(0, 24 * 60, 5):
        out += feed.due(MONDAY + timedelta(minutes=minute), rate)
    return out


def test_nights_are_quiet_and_mornings_and_evenings_peak() -> None:
    """The rate at 03:00 is a fraction of 09:00 and 19:00; a week averages to one."""
    night, morning, evening = (intensity(MONDAY.replace(hour=h)) for h in (3, 9, 19))
    assert night < 0.25 * morning and night < 0.25 * evening
    week = [intensity(MONDAY + timedelta(minutes=m)) for m in range(0, 7 * 24 * 60, 10)]
    assert sum(week) / len(week) == pytest.approx(1.0, abs=0.01)
    assert intensity(MONDAY.replace(hour=19) + timedelta(days=5)) > evening  # Saturday


def test_a_day_of_reports_follows_the_rhythm() -> None:
    """Generated arrivals: many more between 08:00 and 11:00 than between 01:00 and 04:00."""
    hours = Counter(d.sim_at.hour for d in one_day(3) if d.kind is DraftKind.FIRST)
    assert sum(hours[h] for h in (8, 9, 10)) > 4 * sum(hours[h] for h in (1, 2, 3))


def test_hot_spots_draw_most_reports() -> None:
    """The county seat, markets, industrial park and polders are in the pack and draw reports."""
    spots = hot_spots(load_demo_pack())
    kinds = Counter(s.kind for s in spots)
    assert kinds[SpotKind.COUNTY_SEAT] == 1
    assert kinds[SpotKind.MARKET] >= 8 and kinds[SpotKind.POLDER] >= 3
    assert kinds[SpotKind.INDUSTRIAL] >= 1
    seat = next(s for s in spots if s.kind is SpotKind.COUNTY_SEAT)
    firsts = [d for d in one_day(5) if d.kind is DraftKind.FIRST]
    near_seat = sum(distance_m(d.lon, d.lat, seat.lon, seat.lat) < 3000 for d in firsts)
    # 3 km around the seat is about 28 km² of the county's ~800 km²: under 4% if uniform.
    assert near_seat / len(firsts) > 0.12
    hot = [s for s in spots if s.kind is not SpotKind.VILLAGE]
    at_hot = sum(
        any(distance_m(d.lon, d.lat, s.lon, s.lat) < 2 * s.radius_m for s in hot) for d in firsts
    )
    assert at_hot / len(firsts) > 0.6


def test_repeat_callers_are_the_same_event_nearby_within_minutes_with_new_source_ids() -> None:
    """Each repeat has its first call's category, lies within tens of metres, minutes later."""
    drafts = one_day(7)
    firsts = {d.source_id: d for d in drafts if d.kind is DraftKind.FIRST}
    repeats = [d for d in drafts if d.kind is DraftKind.REPEAT]
    assert len(repeats) > 50
    for repeat in repeats:
        first = firsts[repeat.event_key]
        assert repeat.source_id != first.source_id
        assert repeat.category == first.category
        assert distance_m(repeat.lon, repeat.lat, first.lon, first.lat) < 3 * REPEAT_RADIUS_M
        assert timedelta(0) < repeat.sim_at - first.sim_at <= REPEAT_WITHIN
    assert len({d.source_id for d in drafts}) == len(drafts)


def test_malformed_share_and_every_kind_is_rejected_by_the_contract() -> None:
    """About the configured share is malformed; exactly those fail intake validation."""
    drafts = one_day(11, malformed_share=0.05)
    malformed = [d for d in drafts if d.kind is DraftKind.MALFORMED]
    arrivals = [d for d in drafts if d.kind in (DraftKind.FIRST, DraftKind.MALFORMED)]
    assert 0.03 < len(malformed) / len(arrivals) < 0.07
    assert {d.malformed for d in malformed} == set(Malformed)
    for draft in drafts:
        if draft.malformed is None:
            report = decode_document(encode(draft, STAMP))
            assert report.source_id == draft.source_id
        else:
            with pytest.raises(IntakeRejected):
                decode_document(encode(draft, STAMP))


def test_the_same_seed_gives_the_same_entries() -> None:
    """Same seed, same bytes in the same order; another seed, other reports."""
    first = [encode(d, STAMP) for d in one_day(42)]
    assert first == [encode(d, STAMP) for d in one_day(42)]
    assert first != [encode(d, STAMP) for d in one_day(43)]


def test_rate_zero_draws_no_reports() -> None:
    """A rate of zero is a quiet feed, not an error."""
    assert one_day(1, rate=0.0) == []


def test_the_clock_at_60x() -> None:
    """At 60x one wall minute is one simulated hour, both ways."""
    clock = SimClock(MONDAY, wall_start=1000.0, speed=60)
    assert clock.sim_at(1060.0) == MONDAY + timedelta(hours=1)
    assert clock.wall_at(MONDAY + timedelta(hours=10)) == pytest.approx(1600.0)
    assert clock.wall_seconds(3600) == 60
    with pytest.raises(ValueError):
        SimClock(MONDAY, 0.0, speed=61)


def test_arrivals_do_not_depend_on_when_the_ticks_fall() -> None:
    """From a fixed start, ticking late or early, coarse or fine, draws the same reports."""

    def drafts(first_tick_s: float, step_s: float) -> list[bytes]:
        feed = ReportFeed(
            hot_spots(load_demo_pack()), FeedSettings("t"), random.Random(9), start=MONDAY
        )
        out: list[Draft] = []
        elapsed = first_tick_s
        while elapsed < 3600:
            out += feed.due(MONDAY + timedelta(seconds=elapsed), 0.05)
            elapsed += step_s
        out += feed.due(MONDAY + timedelta(seconds=3600), 0.05)
        return [encode(d, STAMP) for d in out]

    assert drafts(0.0, 30.0) == drafts(42.0, 7.0) == drafts(0.5, 600.0)
