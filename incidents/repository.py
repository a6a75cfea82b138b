"""PostgreSQL persistence for cases (asyncpg): reads, the outbox, the jurisdiction tree.

Writes of cases and events live in `case_store` (shared by intake and commands); a batch of
intake reports is recorded by `intake_store.record_reports`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from incidents.case import Location, Report, Reporter
from incidents.case_store import Conn, PendingEvent, with_event_id
from incidents.events import Event, EventRow, event_from_row
from incidents.intake_store import record_reports
from incidents.views import VIEW_SELECT, view_from_row
from incidents.vocabulary import Category, Channel, Tier

__all__ = [
    "Conn",
    "JurisdictionRow",
    "PendingEvent",
    "ResolutionLevel",
    "case_events",
    "claim_unpublished",
    "linked_reports",
    "mark_published",
    "open_cases",
    "record_reports",
    "resolution_level",
    "upsert_jurisdictions",
]


@dataclass(frozen=True, slots=True)
class JurisdictionRow:
    """One node of the jurisdiction tree as stored."""

    code: str
    tier: Tier
    name: str
    parent_code: str | None
    synthetic: bool


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


async def mark_published(conn: Conn, event_ids: Sequence[int]) -> None:
    """Drop the outbox rows of these events (all events of each commit) once they are out."""
    if event_ids:
        await conn.execute(
            "DELETE FROM event_outbox WHERE first_event_id = ANY($1::bigint[])", event_ids
        )


async def claim_unpublished(
    conn: Conn, older_than_seconds: float, limit: int = 20
) -> list[PendingEvent]:
    """Events a crashed writer committed but never published (older than the grace period).

    `limit` counts commits (outbox rows), not events; the events come in log order.
    """
    rows = await conn.fetch(
        "SELECT event_ids, payloads FROM event_outbox"
        " WHERE created_at < now() - make_interval(secs => $1)"
        " ORDER BY first_event_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        older_than_seconds,
        limit,
    )
    return [
        PendingEvent(event_id, with_event_id(event_id, payload))
        for row in rows
        for event_id, payload in zip(row["event_ids"], row["payloads"], strict=True)
    ]


async def upsert_jurisdictions(conn: Conn, rows: Iterable[JurisdictionRow]) -> int:
    """Load or refresh the jurisdiction tree (parents must come before children)."""
    items = list(rows)
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO jurisdictions (code, tier, name, parent_code, synthetic)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (code) DO UPDATE SET tier = EXCLUDED.tier, name = EXCLUDED.name,"
            " parent_code = EXCLUDED.parent_code, synthetic = EXCLUDED.synthetic",
            [(r.code, r.tier.value, r.name, r.parent_code, r.synthetic) for r in items],
        )
    return len(items)


async def open_cases(conn: Conn, jurisdiction_prefix: str, limit: int) -> list[dict[str, Any]]:
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
