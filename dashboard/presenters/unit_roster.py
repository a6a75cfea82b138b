"""The console map's units beyond their positions: name, type, status and current task."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from incidents.units import UnitRecord

# One row per unit in this order; the browser reads the names from the body.
UNIT_FIELDS: tuple[str, ...] = ("unit_id", "name", "type", "status", "case_id")


def unit_roster(records: Iterable[UnitRecord], tasks: Mapping[str, int]) -> dict[str, Any]:
    """The body the browser loads the units' names, types, statuses and tasks from."""
    rows = [
        [r.unit.unit_id, r.unit.name, r.unit.type.value, r.status.value, tasks.get(r.unit.unit_id)]
        for r in sorted(records, key=lambda r: r.unit.unit_id)
    ]
    return {"fields": list(UNIT_FIELDS), "rows": rows}
