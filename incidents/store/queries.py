"""The read side: what screens and services read about cases, as frozen typed objects."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.case import Location, Report, Reporter
from incidents.events import Event, EventRow, event_from_row
from incidents.store.case_store import Conn
from incidents.views import VIEW_SELECT, CaseView, view_from_row
from incidents.vocabulary import Category, Channel

_LINKED_REPORTS = """
SELECT source_id, channel, summary, address, lon, lat, reporter_name, reporter_phone, reported_at
FROM case_reports
WHERE case_id = $1 AND link_kind <> 'opened' AND ($2::text IS NULL OR source_id = $2)
ORDER BY linked_at, source_id
"""


async def linked_reports(
    conn: Conn, case_id: int, category: Category, source_id: str | None = None
) -> list[Report]:
    """The reports linked to a case, in the order they were linked (or just `source_id`).

    The case's state counts them; their content lives here and in the event log.
    """
    rows = await conn.fetch(_LINKED_REPORTS, case_id, source_id)
    return [
        Report(
            source_id=row["source_id"],
            channel=Channel(row["channel"]),
            category=category,
            summary=row["summary"],
            location=Location(row["lon"], row["lat"], row["address"]),
            reported_at=row["reported_at"],
            reporter=Reporter(row["reporter_name"], row["reporter_phone"])
            if row["reporter_name"] is not None or row["reporter_phone"] is not None
            else None,
        )
        for row in rows
    ]


async def open_cases(conn: Conn, jurisdiction_prefix: str, limit: int) -> list[CaseView]:
    """Open cases inside a jurisdiction (by code prefix), newest first, without personal data."""
    rows = await conn.fetch(
        VIEW_SELECT + " WHERE status = 'open' AND township_code LIKE $1 || '%'"
        " ORDER BY opened_at DESC, id DESC LIMIT $2",
        jurisdiction_prefix,
        limit,
    )
    return [view_from_row(row) for row in rows]


async def case_events(conn: Conn, case_id: int) -> list[Event]:
    """A case's whole event log, oldest first (for replay and the audit trail)."""
    rows = await conn.fetch(
        "SELECT case_id, seq, version, type, at, actor, reason, causation_id, step_before,"
        " step_after, data FROM case_events WHERE case_id = $1 ORDER BY seq",
        case_id,
    )
    return [event_from_row(EventRow(**dict(row))) for row in rows]


@dataclass(frozen=True, slots=True)
class ResolutionLevel:
    """How many archived cases were resolved at township level or below (the seed's 95%)."""

    archived: int
    at_township_or_below: int

    @property
    def share(self) -> float | None:
        """The fraction, or None before any case is archived."""
        return self.at_township_or_below / self.archived if self.archived else None


async def resolution_level(conn: Conn, jurisdiction_prefix: str = "") -> ResolutionLevel:
    """Archived cases in a jurisdiction and how many the township or village resolved."""
    row = await conn.fetchrow(
        "SELECT count(*) AS archived,"
        " count(*) FILTER (WHERE resolution_tier IN ('township', 'village')) AS low"
        " FROM cases WHERE status = 'archived' AND coalesce(township_code, '') LIKE $1 || '%'",
        jurisdiction_prefix,
    )
    assert row is not None
    return ResolutionLevel(row["archived"], row["low"])
