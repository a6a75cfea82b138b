"""Positions for screens without sockets: latest per unit, once per flush, by township."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from realtime.position_coalescer import PositionCoalescer
from realtime.positions import UNIT_ROW_FIELDS


def fix(unit: str, lon: float, at: str) -> dict[bytes, bytes]:
    """A positions-stream entry."""
    document = {"unit_id": unit, "lon": lon, "lat": 31.3, "at": at}
    return {b"data": json.dumps(document).encode()}


NOW = datetime(2026, 11, 26, 2, 0, 5, tzinfo=UTC)


def township_of(lon: float, _lat: float) -> str:
    """West of 118.9 is 淳溪街道, east of it 阳江镇 (a stand-in for the county's map)."""
    return "320118001000" if lon < 118.9 else "320118101000"


def test_the_latest_fix_wins_and_a_late_older_one_is_ignored() -> None:
    """Three fixes of one unit, one arriving late: one row, the newest position."""
    positions = PositionCoalescer(township_of)
    entries = [
        fix("car-1", 118.80, "2026-11-26T10:00:00+08:00"),
        fix("car-1", 118.95, "2026-11-26T10:00:02+08:00"),
        fix("car-1", 118.70, "2026-11-26T10:00:01+08:00"),
    ]
    assert positions.absorb(entries, NOW) == 3
    (unit,) = positions.take_moved()
    assert unit.lon == 118.95
    assert positions.take_moved() == []


def test_invalid_fixes_are_skipped() -> None:
    """A fix that breaks the positions contract moves nothing."""
    positions = PositionCoalescer(township_of)
    assert positions.absorb([{b"data": b"{}"}, {b"nope": b"1"}], NOW) == 0
    assert positions.take_moved() == []


def test_one_message_per_scope_with_only_its_townships_units() -> None:
    """The county gets both units; each township only the unit inside it."""
    positions = PositionCoalescer(township_of)
    positions.absorb(
        [fix("west", 118.80, "2026-11-26T02:00:00Z"), fix("east", 119.00, "2026-11-26T02:00:00Z")],
        NOW,
    )
    messages = positions.messages(positions.take_moved(), ["320118", "320118001", "320118102"])
    assert set(messages) == {"320118", "320118001"}  # nobody moved in 320118102
    county = json.loads(messages["320118"])
    assert county["type"] == "positions" and county["fields"] == list(UNIT_ROW_FIELDS)
    assert sorted(row[0] for row in county["units"]) == ["east", "west"]
    assert [row[0] for row in json.loads(messages["320118001"])["units"]] == ["west"]


def test_without_a_map_only_county_screens_see_units() -> None:
    """No township lookup: a township screen cannot tell where a unit is, so it gets none."""
    positions = PositionCoalescer(None)
    positions.absorb([fix("car-1", 118.8, "2026-11-26T02:00:00Z")], NOW)
    assert set(positions.messages(positions.take_moved(), ["320118", "320118001"])) == {"320118"}


def test_a_fix_stamped_far_ahead_or_long_ago_is_not_believed() -> None:
    """A fix from the future would win latest-wins for good and freeze its unit: skipped."""
    positions = PositionCoalescer(township_of)
    entries = [
        fix("car-1", 118.80, "2026-11-26T02:00:00Z"),
        fix("car-1", 118.95, "2026-11-27T02:00:00Z"),  # a day ahead
        fix("car-2", 118.80, "2026-11-24T02:00:00Z"),  # two days old
    ]
    assert positions.absorb(entries, NOW) == 1
    (unit,) = positions.take_moved()
    assert (unit.unit_id, unit.lon) == ("car-1", 118.80)
