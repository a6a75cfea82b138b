"""The console's unit roster: who each unit is, its status and the case it is on."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboard.presenters.unit_roster import UNIT_FIELDS, unit_roster
from incidents.units import UnitRecord, UnitStatus, UnitType, make_unit

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def record(unit_id: str, kind: UnitType, status: UnitStatus) -> UnitRecord:
    return UnitRecord(
        make_unit(unit_id, unit_id.upper(), kind, "320118001000", f"名{unit_id}"),
        "320118001000",
        status,
        AT,
    )


def test_rows_name_each_unit_its_type_status_and_task_in_the_fields_order() -> None:
    """Sorted by id; a unit with no active assignment has no task (null, not 0)."""
    body = unit_roster(
        [record("b-2", UnitType.FIRE_ENGINE, UnitStatus.DISPATCHED),
         record("a-1", UnitType.FOOT_PATROL, UnitStatus.AVAILABLE)],
        {"b-2": 42},
    )  # fmt: skip
    assert body["fields"] == list(UNIT_FIELDS)
    assert body["rows"] == [
        ["a-1", "名a-1", "foot_patrol", "available", None],
        ["b-2", "名b-2", "fire_engine", "dispatched", 42],
    ]
