"""Scenarios: escalating bursts at one place that would trigger their emergency plans."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from geo.pack import load_demo_pack
from incidents.vocabulary import Category
from realtime.cameras import ALARM_CATEGORY
from realtime.intake_contract import decode_document
from realtime.sim_cameras import CameraNetwork, CameraSettings
from realtime.sim_places import distance_m, hot_spots
from realtime.sim_reports import FeedSettings, ReportFeed, encode
from realtime.sim_scenarios import Scenario, scenario_items, scenario_place

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
# What each plan looks for (the plan library's triggers): categories and words in the text.
TRIGGERS = {
    Scenario.CHEMICAL_LEAK: ({Category.SAFETY_PRODUCTION, Category.EMERGENCY}, ("危化品", "泄漏")),
    Scenario.POLDER_FLOOD: ({Category.EMERGENCY}, ("圩", "漫堤")),
    Scenario.CROWD: ({Category.MASS_INCIDENT}, ("聚集",)),
}


def burst(scenario: Scenario) -> list:
    pack = load_demo_pack()
    spots = hot_spots(pack)
    feed = ReportFeed(spots, FeedSettings("sc"), random.Random(1))
    cameras = CameraNetwork(pack.cameras, CameraSettings(), random.Random(2))
    return scenario_items(scenario, START, spots, feed, cameras)


@pytest.mark.parametrize("scenario", list(Scenario))
def test_a_scenario_is_an_escalating_multichannel_burst_at_one_place(scenario: Scenario) -> None:
    """Reports from 3+ channels within 200 m, severity rising to I, plan words, camera alarms."""
    items = burst(scenario)
    drafts = [i.draft for i in items if i.draft is not None]
    alarms = [i.camera for i in items if i.camera is not None]
    categories, words = TRIGGERS[scenario]
    assert len(drafts) >= 5 and len({d.channel for d in drafts}) >= 3
    assert {d.category for d in drafts} <= categories
    assert any(all(w in d.summary for w in words) for d in drafts)
    assert drafts[0].severity is not None and drafts[0].severity >= 3
    assert min(d.severity or 4 for d in drafts) == 1
    first = drafts[0]
    assert all(distance_m(d.lon, d.lat, first.lon, first.lat) < 200 for d in drafts)
    assert len({d.event_key for d in drafts}) == 1
    assert len({d.source_id for d in drafts}) == len(drafts)
    for draft in drafts:
        decode_document(encode(draft, START))
    assert len(alarms) == 2
    for alarm in alarms:
        assert alarm.alarm is not None
        assert distance_m(alarm.alarm.lon, alarm.alarm.lat, first.lon, first.lat) < 1500
        assert alarm.alarm.kind in ALARM_CATEGORY
    assert [i.sim_at for i in items] == sorted(i.sim_at for i in items)


def test_scenarios_happen_at_the_right_kind_of_place() -> None:
    """A chemical plant, a polder, the county seat."""
    spots = hot_spots(load_demo_pack())
    assert "化工" in scenario_place(Scenario.CHEMICAL_LEAK, spots).name
    assert scenario_place(Scenario.POLDER_FLOOD, spots).name.endswith("圩")
    assert scenario_place(Scenario.CROWD, spots).kind == "county_seat"
