"""Reports received but not yet formed into cases: written by ingest, taken by the former.

Splitting intake in two keeps a flood of calls durable at the rate Redis delivers it: the
ingest worker only validates, locates and COPYs each report here before acknowledging it,
and the case former (`intake_store.form_pending`) turns them into cases in arrival order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.case import Jurisdiction
from incidents.reports import AcceptedReport, Located
from incidents.store.case_store import Conn
from incidents.views import PlaceNames
from incidents.vocabulary import Category, Channel, Severity

_COLUMNS = [
    "source_id",
    "channel",
    "category",
    "severity",
    "summary",
    "address",
    "lon",
    "lat",
    "reporter_name",
    "reporter_phone",
    "reported_at",
    "received_at",
    "county_code",
    "township_code",
    "village_code",
    "grid_code",
    "inside_county",
    "township_name",
    "village_name",
]

# The oldest rows first, removed as they are read: the caller's transaction either forms
# them into cases and commits, or rolls back and leaves them for the next try.
_TAKE = f"""
DELETE FROM intake_pending
WHERE seq = ANY (ARRAY(SELECT seq FROM intake_pending ORDER BY seq LIMIT $1))
RETURNING seq, {", ".join(_COLUMNS)}
"""
# Identity values have gaps only after rollbacks, so the span is a close, cheap estimate.
_BACKLOG = """
SELECT max(seq) - min(seq) + 1 AS span,
       (SELECT received_at FROM intake_pending ORDER BY seq LIMIT 1) AS oldest
FROM intake_pending
"""


@dataclass(frozen=True, slots=True)
class Backlog:
    """How many received reports wait for case formation (about), and since when."""

    reports: int
    oldest_received_at: datetime | None


def _row(report: AcceptedReport) -> tuple[Any, ...]:
    where = report.place.jurisdiction
    names = report.place.names
    return (
        report.source_id,
        report.channel._value_,
        report.category._value_,
        int(report.severity),
        report.summary,
        report.address,
        report.lon,
        report.lat,
        report.reporter_name,
        report.reporter_phone,
        report.reported_at,
        report.received_at,
        where.county_code,
        where.township_code,
        where.village_code,
        where.grid_code,
        where.inside_county,
        names.township_name,
        names.village_name,
    )


async def receive_reports(conn: Conn, reports: Sequence[AcceptedReport]) -> None:
    """Store accepted reports for case formation: one COPY, durable when it returns."""
    if reports:
        records = [_row(r) for r in reports]
        await conn.copy_records_to_table("intake_pending", columns=_COLUMNS, records=records)


async def take_pending_rows(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """Remove and return up to `limit` of the oldest pending rows as stored, oldest first."""
    rows = sorted(await conn.fetch(_TAKE, limit), key=lambda row: row["seq"])
    return [dict(row) for row in rows]


async def take_pending(conn: Conn, limit: int) -> list[AcceptedReport]:
    """Remove and return up to `limit` of the oldest pending reports, oldest first."""
    return [
        AcceptedReport(
            source_id=row["source_id"],
            channel=Channel(row["channel"]),
            category=Category(row["category"]),
            severity=Severity(row["severity"]),
            summary=row["summary"],
            lon=row["lon"],
            lat=row["lat"],
            address=row["address"],
            reporter_name=row["reporter_name"],
            reporter_phone=row["reporter_phone"],
            reported_at=row["reported_at"],
            received_at=row["received_at"],
            place=Located(
                Jurisdiction(
                    county_code=row["county_code"],
                    township_code=row["township_code"],
                    village_code=row["village_code"],
                    grid_code=row["grid_code"],
                    inside_county=row["inside_county"],
                ),
                PlaceNames(row["township_name"], row["village_name"]),
            ),
        )
        for row in await take_pending_rows(conn, limit)
    ]


def intake_document(row: dict[str, Any]) -> dict[str, Any]:
    """A pending row as an intake/1 document again (for a dead letter one can resubmit)."""
    reporter = None
    if row["reporter_name"] is not None or row["reporter_phone"] is not None:
        reporter = {"name": row["reporter_name"], "phone": row["reporter_phone"]}
    return {
        "schema": "intake/1",
        "source_id": row["source_id"],
        "channel": row["channel"],
        "category": row["category"],
        "severity": row["severity"],
        "summary": row["summary"],
        "location": {"lon": row["lon"], "lat": row["lat"], "address": row["address"]},
        "reported_at": row["reported_at"].isoformat(),
        "reporter": reporter,
    }


async def backlog(conn: Conn) -> Backlog:
    """The reports waiting for case formation."""
    row: Any = await conn.fetchrow(_BACKLOG)  # an aggregate: always one row
    return Backlog(int(row["span"] or 0), row["oldest"])
