"""Writing cases and their events: the one write path shared by intake and commands.

Every function runs inside the caller's transaction. Events go to the append-only log and,
in their public form (reporters masked, the case view attached), to the outbox; the caller
publishes them after commit and then marks them published.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from incidents.case import Case, CaseStatus, case_to_row
from incidents.events import Event, event_to_row, to_public_json
from incidents.views import PlaceNames, case_view

# Functions take a plain connection or one borrowed from a pool.
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


class ConcurrentChange(Exception):
    """Someone else changed the case between our read and our write."""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A committed event that still has to go out on the events stream."""

    event_id: int
    payload: bytes


# Every column a case row is written with, and its PostgreSQL type, in `_case_values` order.
_CASE_SCHEMA: tuple[tuple[str, str], ...] = (
    ("id", "bigint"),
    ("case_no", "text"),
    ("source_id", "text"),
    ("channel", "text"),
    ("category", "text"),
    ("severity", "int2"),
    ("summary", "text"),
    ("address", "text"),
    ("lon", "float8"),
    ("lat", "float8"),
    ("inside_county", "bool"),
    ("county_code", "text"),
    ("township_code", "text"),
    ("township_name", "text"),
    ("village_code", "text"),
    ("village_name", "text"),
    ("grid_code", "text"),
    ("reporter_name", "text"),
    ("reporter_phone", "text"),
    ("step", "text"),
    ("status", "text"),
    ("owning_tier", "text"),
    ("owning_org", "text"),
    ("owner", "text"),
    ("reported_at", "timestamptz"),
    ("opened_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("last_report_at", "timestamptz"),
    ("report_count", "int4"),
    ("deadline_kind", "text"),
    ("deadline_started_at", "timestamptz"),
    ("deadline_at", "timestamptz"),
    ("deadline_warn_at", "timestamptz"),
    ("overdue_recorded", "bool"),
    ("reopen_count", "int4"),
    ("overdue_count", "int4"),
    ("resolution_tier", "text"),
    ("satisfaction", "text"),
    ("closed_at", "timestamptz"),
    ("version", "int4"),
    ("last_seq", "int4"),
    ("snapshot", "jsonb"),
)
_CASE_COLUMNS = [column for column, _ in _CASE_SCHEMA]
_CASE_TYPES = [pg_type for _, pg_type in _CASE_SCHEMA]

_UNNEST = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_CASE_TYPES, start=1))
_INSERT_CASES = f"INSERT INTO cases ({', '.join(_CASE_COLUMNS)}) SELECT * FROM unnest({_UNNEST})"
_MUTABLE = [c for c in _CASE_COLUMNS if c not in ("id",)]
_UPDATE_CASES = (
    f"UPDATE cases AS c SET {', '.join(f'{col} = u.{col}' for col in _MUTABLE)}"
    f" FROM unnest({_UNNEST}, ${len(_CASE_TYPES) + 1}::int4[])"
    f" AS u({', '.join(_CASE_COLUMNS)}, expected_version)"
    " WHERE c.id = u.id AND c.version = u.expected_version"
)


def _case_values(case: Case, names: PlaceNames, now: datetime) -> tuple[Any, ...]:
    row = case_to_row(case)
    reporter = case.reporter
    return (
        row.case_id,
        row.case_no,
        row.source_id,
        row.channel,
        row.category,
        row.severity,
        case.summary,
        case.location.address,
        row.lon,
        row.lat,
        row.inside_county,
        row.county_code,
        row.township_code,
        names.township_name,
        row.village_code,
        names.village_name,
        row.grid_code,
        reporter.name if reporter else None,
        reporter.phone if reporter else None,
        row.step,
        row.status,
        row.owning_tier,
        row.owning_org,
        row.owner,
        row.reported_at,
        row.opened_at,
        now,
        row.last_report_at,
        1 + len(case.linked_reports),
        row.deadline_kind,
        row.deadline_started_at,
        row.deadline_at,
        row.deadline_warn_at,
        row.overdue_recorded,
        row.reopen_count,
        row.overdue_count,
        row.resolution_tier,
        row.satisfaction,
        row.closed_at,
        row.version,
        row.last_seq,
        row.snapshot,
    )


def _columns(values: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*values, strict=True)]


async def insert_cases(conn: Conn, cases: Sequence[tuple[Case, PlaceNames]], now: datetime) -> None:
    """Insert newly opened cases."""
    if cases:
        await conn.execute(_INSERT_CASES, *_columns([_case_values(c, n, now) for c, n in cases]))


async def update_cases(
    conn: Conn, cases: Sequence[tuple[int, Case, PlaceNames]], now: datetime
) -> None:
    """Write new states of existing cases, each only if still at its expected version."""
    if not cases:
        return
    values = [_case_values(case, names, now) for _, case, names in cases]
    status = await conn.execute(
        _UPDATE_CASES, *_columns(values), [expected for expected, _, _ in cases]
    )
    if int(status.split()[-1]) != len(cases):
        raise ConcurrentChange(f"{len(cases)} cases to update, {status.split()[-1]} still current")


_ALLOCATE_EVENT_IDS = "SELECT nextval('case_event_id_seq') AS id FROM generate_series(1, $1::int)"
_INSERT_EVENTS = """
INSERT INTO case_events (id, case_id, seq, version, type, at, actor, reason, causation_id,
                         step_before, step_after, data)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int4[], $4::int4[], $5::text[],
                     $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::jsonb[])
"""
_INSERT_OUTBOX = (
    "INSERT INTO event_outbox (event_id, payload) SELECT * FROM unnest($1::bigint[], $2::text[])"
)


def public_event(event: Event, event_id: int, view: Mapping[str, Any]) -> str:
    """The events-stream document: the masked event, its log id, and the case view after it."""
    document = to_public_json(event)
    document["event_id"] = event_id
    document["case"] = dict(view)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


async def write_events(
    conn: Conn, events: Sequence[Event], views: Mapping[int, Mapping[str, Any]]
) -> list[PendingEvent]:
    """Append events to the log and the outbox, in order; return them for publishing."""
    if not events:
        return []
    ids = [r["id"] for r in await conn.fetch(_ALLOCATE_EVENT_IDS, len(events))]
    rows = [event_to_row(event) for event in events]
    await conn.execute(
        _INSERT_EVENTS,
        ids,
        [r.case_id for r in rows],
        [r.seq for r in rows],
        [r.version for r in rows],
        [r.type for r in rows],
        [r.at for r in rows],
        [r.actor for r in rows],
        [r.reason for r in rows],
        [r.causation_id for r in rows],
        [r.step_before for r in rows],
        [r.step_after for r in rows],
        [r.data for r in rows],
    )
    payloads = [
        public_event(event, event_id, views[event.case_id])
        for event_id, event in zip(ids, events, strict=True)
    ]
    await conn.execute(_INSERT_OUTBOX, ids, payloads)
    return [
        PendingEvent(event_id, payload.encode("utf-8"))
        for event_id, payload in zip(ids, payloads, strict=True)
    ]


def views_of(cases: Sequence[tuple[Case, PlaceNames]]) -> dict[int, dict[str, Any]]:
    """The public view of each case, by id."""
    return {case.case_id: case_view(case, names) for case, names in cases}


_UPSERT_ASSIGNMENTS = """
INSERT INTO case_assignments (case_id, assignment_no, unit_id, kind, name, status,
                              dispatched_at, dispatched_by, acknowledged_at, arrived_at,
                              finished_at)
SELECT * FROM unnest($1::bigint[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[], $8::text[], $9::timestamptz[], $10::timestamptz[],
                     $11::timestamptz[])
ON CONFLICT (case_id, assignment_no) DO UPDATE SET
    status = EXCLUDED.status, acknowledged_at = EXCLUDED.acknowledged_at,
    arrived_at = EXCLUDED.arrived_at, finished_at = EXCLUDED.finished_at
"""


async def sync_projections(conn: Conn, cases: Sequence[Case]) -> None:
    """Bring the assignment and evaluation tables in line with the cases' new state."""
    assignments = [(case.case_id, a) for case in cases for a in case.assignments]
    if assignments:
        await conn.execute(
            _UPSERT_ASSIGNMENTS,
            [case_id for case_id, _ in assignments],
            [a.assignment_no for _, a in assignments],
            [a.unit_id for _, a in assignments],
            [a.kind.value for _, a in assignments],
            [a.name for _, a in assignments],
            [a.status.value for _, a in assignments],
            [a.dispatched_at for _, a in assignments],
            [a.dispatched_by for _, a in assignments],
            [a.acknowledged_at for _, a in assignments],
            [a.arrived_at for _, a in assignments],
            [a.finished_at for _, a in assignments],
        )
    for case in cases:
        closure = case.closure
        if closure is None or closure.outcome is not CaseStatus.ARCHIVED:
            continue
        await conn.execute(
            "INSERT INTO case_evaluations (case_id, satisfaction, comment, resolution_tier,"
            " evaluated_by, evaluated_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (case_id) DO NOTHING",
            case.case_id,
            closure.satisfaction.value if closure.satisfaction else None,
            closure.comment,
            closure.resolution_tier.value if closure.resolution_tier else None,
            closure.by,
            closure.at,
        )
