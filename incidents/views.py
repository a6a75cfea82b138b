"""What screens and subscribers see of a case: one typed view, no personal data, names resolved.

`CaseView` is defined once: the events stream carries it beside each event, the gateway's
snapshots read it straight from the `cases` table (its field names are column names there),
and the browser gets its field names from the generated protocol description.
"""

from __future__ import annotations

from typing import Any

import msgspec

from incidents.case import Case
from incidents.vocabulary import Moment


class PlaceNames(msgspec.Struct, frozen=True, gc=False):
    """Names of the township and village a case lies in (codes are on the case)."""

    township_name: str | None
    village_name: str | None


class CaseView(msgspec.Struct, frozen=True, gc=False):
    """The public view of a case: what every screen may show (reporters never appear)."""

    id: int
    case_no: str
    channel: str
    category: str
    severity: int
    summary: str
    address: str | None
    lon: float
    lat: float
    inside_county: bool
    township_code: str | None
    township_name: str | None
    village_code: str | None
    village_name: str | None
    grid_code: str | None
    step: str
    status: str
    owning_tier: str
    owner: str | None
    report_count: int
    deadline_at: Moment | None
    version: int
    reported_at: Moment
    opened_at: Moment


def case_view(case: Case, names: PlaceNames) -> CaseView:
    """The public view of a case (the same as its `cases` row gives; tested)."""
    # Positional and with `_value_` rather than `.value`: the enum property costs more than
    # the whole lookup, and this runs for every event of intake.
    place = case.jurisdiction
    deadline = case.deadline
    return CaseView(
        case.case_id,  # id
        case.case_no,  # case_no
        case.channel._value_,  # channel
        case.category._value_,  # category
        int(case.severity),  # severity
        case.summary,  # summary
        case.location.address,  # address
        case.location.lon,  # lon
        case.location.lat,  # lat
        place.inside_county,  # inside_county
        place.township_code,  # township_code
        names.township_name,  # township_name
        place.village_code,  # village_code
        names.village_name,  # village_name
        place.grid_code,  # grid_code
        case.step._value_,  # step
        case.status._value_,  # status
        case.owning_tier._value_,  # owning_tier
        case.owner,  # owner
        case.report_count,  # report_count
        deadline.due_at if deadline else None,  # deadline_at
        case.version,  # version
        case.reported_at,  # reported_at
        case.opened_at,  # opened_at
    )


VIEW_FIELDS: tuple[str, ...] = CaseView.__struct_fields__


def view_changes(before: CaseView, after: CaseView) -> dict[str, Any]:
    """The view fields that differ after a change, with their new values (what screens need)."""
    # Screens hold every open case in scope, so after-values of the changed fields bring
    # them up to date; applied in stream order they converge even onto a newer snapshot.
    return {
        name: new
        for name, old, new in zip(
            VIEW_FIELDS,
            msgspec.structs.astuple(before),
            msgspec.structs.astuple(after),
            strict=True,
        )
        if old != new
    }


# Every view field is a column of `cases` under the same name.
VIEW_COLUMNS: tuple[str, ...] = VIEW_FIELDS
VIEW_SELECT = f"SELECT {', '.join(VIEW_COLUMNS)} FROM cases"


def view_from_row(row: Any) -> CaseView:
    """A `VIEW_SELECT` row as the public view."""
    return CaseView(*row)


class TaskView(msgspec.Struct, frozen=True, gc=False):
    """A case a unit is assigned to and has not finished: what its terminal shows."""

    case_id: int
    assignment_no: int
    status: str
    dispatched_at: Moment
    case_no: str
    category: str
    severity: int
    summary: str
    address: str | None
    lon: float
    lat: float
