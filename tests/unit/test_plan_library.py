"""The plan library: every shipped plan loads, and each kind of mistake names file and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from incidents.access import Role
from incidents.plan_library import (
    PLAN_DIR,
    UNIT_TYPES,
    PlanFileError,
    load_library,
    parse_plan,
)
from incidents.vocabulary import Category, Severity

GOOD = """
id = "flood-polder"
name = "圩区防汛预案"
categories = ["emergency"]
levels = [1, 2]
keywords = ["管涌"]

[[actions]]
title = "核实险情"
role = "county_duty_officer"
time_limit_min = 10

[[actions]]
title = "巡堤查险"
role = "township_coordinator"
time_limit_min = 30

[[actions]]
title = "转移群众"
role = "village_officer"
time_limit_min = 60

[[forces]]
unit_type = "rescue_team"
count = 2

[[notify]]
org = "区水务局"
within_min = 15

[cap]
event = "圩区洪涝险情"
categories = ["Met"]
urgency = "Expected"
certainty = "Likely"
responses = ["Evacuate"]
description = "圩堤出现险情。"
instruction = "请转移至安置点。"
area = "township"
radius_km = 5
"""

REQUIRED_PLANS = {
    "hazmat-leak": "危险化学品",
    "residential-fire": "火灾",
    "polder-flood": "圩区",
    "mass-incident": "群体性事件",
    "traffic-accident": "交通事故",
    "missing-person": "走失",
}


def broken(old: str, new: str) -> str:
    """The good file with one exact piece of text replaced (which must be there)."""
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def error_of(text: str, file: str = "flood-polder.toml") -> str:
    """The message parse_plan raises for `text`."""
    with pytest.raises(PlanFileError) as caught:
        parse_plan(file, text)
    return str(caught.value)


def test_a_good_file_gives_every_structured_field() -> None:
    """A valid file parses into typed triggers, ordered actions, forces, notices and CAP data."""
    plan = parse_plan("flood-polder.toml", GOOD)
    assert plan.plan_id == "flood-polder"
    assert plan.categories == frozenset({Category.EMERGENCY})
    assert plan.levels == frozenset({Severity.I, Severity.II})
    assert [a.role for a in plan.actions] == [
        Role.COUNTY_DUTY_OFFICER,
        Role.TOWNSHIP_COORDINATOR,
        Role.VILLAGE_OFFICER,
    ]
    assert [a.time_limit_min for a in plan.actions] == [10, 30, 60]
    assert [(f.unit_type, f.count) for f in plan.forces] == [("rescue_team", 2)]
    assert plan.cap.radius_km == 5.0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('name = "圩区防汛预案"\n', "", "flood-polder.toml: name: is missing"),
        ("levels = [1, 2]", 'levels = "I"', "flood-polder.toml: levels: must be a non-empty array"),
        (
            'categories = ["emergency"]',
            'categories = ["emergency", "flood"]',
            "flood-polder.toml: categories[1]: 'flood' is not one of: dispute,",
        ),
        (
            'role = "township_coordinator"',
            'role = "mayor"',
            "flood-polder.toml: actions[1].role: 'mayor' is not one of: county_director,",
        ),
        (
            "levels = [1, 2]",
            "levels = [1, 5]",
            "flood-polder.toml: levels[1]: must be a level from 1 (I) to 4 (IV)",
        ),
        (
            "levels = [1, 2]",
            "levels = [0]",
            "flood-polder.toml: levels[0]: must be a level from 1 (I) to 4 (IV)",
        ),
        (
            "time_limit_min = 60",
            "time_limit_min = -5",
            "flood-polder.toml: actions[2].time_limit_min: must be a positive integer",
        ),
        (
            "time_limit_min = 60",
            'time_limit_min = "60"',
            "flood-polder.toml: actions[2].time_limit_min: must be a positive integer",
        ),
        (
            "time_limit_min = 60",
            "time_limit_min = true",
            "flood-polder.toml: actions[2].time_limit_min: must be a positive integer",
        ),
        (
            'unit_type = "rescue_team"',
            'unit_type = "helicopter"',
            "flood-polder.toml: forces[0].unit_type: 'helicopter' is not one of: patrol_car",
        ),
        (
            "count = 2",
            "count = 0",
            "flood-polder.toml: forces[0].count: must be a positive integer",
        ),
        (
            'org = "区水务局"',
            "org = 3",
            "flood-polder.toml: notify[0].org: must be a non-empty string",
        ),
        (
            'urgency = "Expected"',
            'urgency = "Soon"',
            "flood-polder.toml: cap.urgency: 'Soon' is not one of: Immediate,",
        ),
        (
            'categories = ["Met"]',
            'categories = ["Weather"]',
            "flood-polder.toml: cap.categories[0]: 'Weather' is not one of: Geo,",
        ),
        ('area = "township"', 'area = "county"', "flood-polder.toml: cap.area: 'county' is not"),
        ("radius_km = 5", "radius_km = -1", "flood-polder.toml: cap.radius_km: must be a positive"),
        ('keywords = ["管涌"]', 'keywords = [""]', "flood-polder.toml: keywords[0]: must be a non"),
        ('id = "flood-polder"', 'id = "Flood Polder"', "flood-polder.toml: id: must be 2-64 lower"),
        ("[[notify]]", "[[notice]]", "flood-polder.toml: notice: is not a known field"),
        (
            "time_limit_min = 10",
            "time_limit_min = 10\nowner = 1",
            "flood-polder.toml: actions[0].owner: is not a known field",
        ),
        ('event = "圩区洪涝险情"\n', "", "flood-polder.toml: cap.event: is missing"),
    ],
)
def test_each_mistake_names_file_and_field(old: str, new: str, expected: str) -> None:
    """Missing, wrongly typed, unknown or out-of-range values: the error says where and what."""
    assert error_of(broken(old, new)).startswith(expected)


def test_bad_toml_names_the_file() -> None:
    """A file that is not TOML at all is refused with its name and the parser's position."""
    message = error_of(GOOD.replace("levels = [1, 2]", "levels = [1, 2"))
    assert re.match(r"flood-polder\.toml: not valid TOML \(.*line \d+", message)


def test_a_unit_type_listed_twice_is_refused() -> None:
    """Two lines for the same unit type in one package is an editing slip."""
    text = GOOD.replace(
        "[[notify]]", '[[forces]]\nunit_type = "rescue_team"\ncount = 1\n\n[[notify]]'
    )
    assert error_of(text) == "flood-polder.toml: forces[1].unit_type: 'rescue_team' is listed twice"


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    """Two files with one id: the second is named, and the first one it clashes with."""
    (tmp_path / "a-first.toml").write_text(GOOD, "utf-8")
    (tmp_path / "b-second.toml").write_text(GOOD, "utf-8")
    with pytest.raises(PlanFileError) as caught:
        load_library(tmp_path)
    assert str(caught.value) == (
        "b-second.toml: id: 'flood-polder' is already the id of a-first.toml"
    )


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    """No plans at all is a deployment mistake, not an empty library."""
    with pytest.raises(PlanFileError, match="no plan files"):
        load_library(tmp_path)


def test_every_shipped_plan_loads_and_the_required_ones_are_there() -> None:
    """The six plans the county needs are shipped, each with steps, forces and notices."""
    library = load_library()
    assert set(REQUIRED_PLANS) <= set(library)
    for plan_id, word in REQUIRED_PLANS.items():
        plan = library[plan_id]
        assert word in plan.name
        assert plan.file == f"{plan_id}.toml"
        assert len(plan.actions) >= 5 and plan.forces and plan.notify
        assert all(force.unit_type in UNIT_TYPES for force in plan.forces)
    assert len(list(PLAN_DIR.glob("*.toml"))) == len(library)
