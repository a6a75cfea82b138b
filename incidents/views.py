"""What screens and subscribers see of a case: no personal data, names resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incidents.case import Case


@dataclass(frozen=True, slots=True)
class PlaceNames:
    """Names of the township and village a case lies in (codes are on the case)."""

    township_name: str | None
    village_name: str | None


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds, as every published time is written."""
    if moment is None:
        return None
    text = _ISO_SEEN.get(moment)
    if text is None:
        # A batch of intake shares one received time and a few deadlines: remember some.
        if len(_ISO_SEEN) >= 4096:
            _ISO_SEEN.clear()
        text = _ISO_SEEN[moment] = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text


_ISO_SEEN: dict[datetime, str] = {}


def case_view(case: Case, names: PlaceNames) -> dict[str, Any]:
    """The public view of a case; the same keys as `open_cases` rows (tested)."""
    # `_value_` rather than `.value`: the enum property costs more than the whole lookup.
    place = case.jurisdiction
    return {
        "id": case.case_id,
        "case_no": case.case_no,
        "channel": case.channel._value_,
        "category": case.category._value_,
        "severity": int(case.severity),
        "summary": case.summary,
        "address": case.location.address,
        "lon": case.location.lon,
        "lat": case.location.lat,
        "inside_county": place.inside_county,
        "township_code": place.township_code,
        "township_name": names.township_name,
        "village_code": place.village_code,
        "village_name": names.village_name,
        "grid_code": place.grid_code,
        "step": case.step._value_,
        "status": case.status._value_,
        "owning_tier": case.owning_tier._value_,
        "owner": case.owner,
        "report_count": case.report_count,
        "deadline_at": iso(case.deadline.due_at if case.deadline else None),
        "version": case.version,
        "reported_at": iso(case.reported_at),
        "opened_at": iso(case.opened_at),
    }


# The same view straight from the cases table, for snapshots of many cases.
VIEW_SELECT = """
SELECT id, case_no, channel, category, severity, summary, address, lon, lat, inside_county,
       township_code, township_name, village_code, village_name, grid_code, step, status,
       owning_tier, owner, report_count, deadline_at, version, reported_at, opened_at
FROM cases
"""


def view_from_row(row: Any) -> dict[str, Any]:
    """A `VIEW_SELECT` row as the public view."""
    view = dict(row)
    for key in ("deadline_at", "reported_at", "opened_at"):
        view[key] = iso(view[key])
    return view
