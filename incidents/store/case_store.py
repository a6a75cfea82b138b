"""Writing cases and their events: the one write path shared by intake and commands.

Every function runs inside the caller's transaction. Events go to the append-only log and,
in their public form (reporters masked, the case view attached), to the outbox; the caller
publishes them after commit and then marks them published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from incidents.case import Case, CaseStatus, Jurisdiction, case_to_row, case_to_snapshot
from incidents.events import Event, EventRow, event_to_row, join_objects, public_event_json
from incidents.reports import CHINA_TZ, case_number
from incidents.views import CaseView, PlaceNames, case_view, view_changes

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
    ("snapshot", "text"),
)
_CASE_COLUMNS = [column for column, _ in _CASE_SCHEMA]
_CASE_TYPES = [pg_type for _, pg_type in _CASE_SCHEMA]

_MUTABLE = [c for c in _CASE_COLUMNS if c not in ("id",)]


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
        case.report_count,
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
    """Insert newly opened cases (COPY: a quarter of the cost of INSERT from arrays)."""
    if cases:
        await conn.copy_records_to_table(
            "cases", columns=_CASE_COLUMNS, records=[_case_values(c, n, now) for c, n in cases]
        )


async def update_linked_cases(conn: Conn, cases: Sequence[tuple[int, Case]], now: datetime) -> None:
    """Write cases that only gained linked reports, each only if still at its expected version.

    Linking changes nothing but the report count, the latest report time, the version and
    the log position (tests/unit/test_merging.py checks it), so only those columns and the
    snapshot are written: a seventh of the work of writing the whole row.
    """
    if not cases:
        return
    status = await conn.execute(
        _UPDATE_LINKED,
        [case.case_id for _, case in cases],
        [expected for expected, _ in cases],
        [case.report_count for _, case in cases],
        [case.last_report_at for _, case in cases],
        [case.version for _, case in cases],
        [case.last_seq for _, case in cases],
        [case_to_snapshot(case) for _, case in cases],
        now,
    )
    if int(status.split()[-1]) != len(cases):
        raise ConcurrentChange(f"{len(cases)} cases to update, {status.split()[-1]} still current")


_UPDATE_LINKED = """
UPDATE cases AS c
SET report_count = u.report_count, last_report_at = u.last_report_at, version = u.version,
    last_seq = u.last_seq, snapshot = u.snapshot, updated_at = $8
FROM unnest($1::int8[], $2::int4[], $3::int4[], $4::timestamptz[], $5::int4[], $6::int4[],
            $7::text[]) AS u(id, expected, report_count, last_report_at, version, last_seq,
                             snapshot)
WHERE c.id = u.id AND c.version = u.expected
"""


def _outbox_insert(case_ids: str, seqs: str, payloads: str) -> str:
    """SQL inserting the one outbox row of a transaction's events (from CTE `ev`), in order."""
    return f"""INSERT INTO event_outbox (first_event_id, event_ids, payloads)
    SELECT ids[1], ids, texts FROM (
        SELECT array_agg(ev.id ORDER BY u.n) AS ids, array_agg(u.payload ORDER BY u.n) AS texts
        FROM ev JOIN unnest({case_ids}::bigint[], {seqs}::int4[], {payloads}::text[])
                     WITH ORDINALITY AS u(case_id, seq, payload, n) USING (case_id, seq)
    ) AS batch WHERE ids IS NOT NULL"""


# The log's columns are the event row's fields (incidents.events.EventRow), after the id.
_EVENT_COLUMNS = ["id", *EventRow.__struct_fields__]
_INSERT_OUTBOX = (
    "INSERT INTO event_outbox (first_event_id, event_ids, payloads) VALUES ($1, $2, $3)"
)
_RESERVE_IDS = "SELECT nextval($1::regclass) FROM generate_series(1, $2)"


async def reserve_ids(conn: Conn, sequence: str, count: int) -> list[int]:
    """`count` fresh values of a sequence, in increasing order."""
    if count <= 0:
        return []
    return [row[0] for row in await conn.fetch(_RESERVE_IDS, sequence, count)]


class _CaseMember(msgspec.Struct, gc=False):
    """The `case` member of a published event: the case view after the event."""

    case: CaseView


class _EventIdMember(msgspec.Struct, gc=False):
    """The `event_id` member of a published event: its position in the log."""

    event_id: int


_ENCODER = msgspec.json.Encoder()


class _ChangesMember(msgspec.Struct, gc=False):
    """The `changes` member: the view fields the command changed (screens get only these)."""

    changes: dict[str, Any]


def public_event(event: Event, view: CaseView, changes: dict[str, Any] | None = None) -> str:
    """The events-stream document: the masked event, the case view after it, what changed.

    `changes` is absent for a case new to the screens (opened, split off): they need the
    whole view. The log id is not known until the insert; `with_event_id` adds it in front.
    """
    parts = [public_event_json(event), _ENCODER.encode(_CaseMember(view))]
    if changes is not None:
        parts.append(_ENCODER.encode(_ChangesMember(changes)))
    return join_objects(parts).decode()


def with_event_id(event_id: int, payload: str) -> bytes:
    """The published bytes: the payload object with `event_id` as its first member."""
    return join_objects([_ENCODER.encode(_EventIdMember(event_id)), payload.encode()])


def _event_columns(rows: Sequence[EventRow]) -> list[list[Any]]:
    """The log columns of `_EVENT_TYPES`, one array each."""
    if not rows:
        return [[] for _ in EventRow.__struct_fields__]
    return _columns([msgspec.structs.astuple(row) for row in rows])


def _pending(
    rows: Sequence[EventRow], payloads: Sequence[str], inserted: Sequence[Any]
) -> list[PendingEvent]:
    """The inserted events in their original order, each with its log id in its payload."""
    ids = {(row["case_id"], row["seq"]): row["event_id"] for row in inserted}
    return [
        PendingEvent(ids[(r.case_id, r.seq)], with_event_id(ids[(r.case_id, r.seq)], payload))
        for r, payload in zip(rows, payloads, strict=True)
    ]


async def write_events(
    conn: Conn,
    events: Sequence[Event],
    views: Mapping[int, CaseView],
    before: Mapping[int, CaseView] | None = None,
) -> list[PendingEvent]:
    """Append events to the log and their one outbox row, in order; return them to publish.

    `before` holds the views of the cases that existed before these events (their events
    carry what changed); cases not in it are new to the screens.
    """
    if not events:
        return []
    ids = await reserve_ids(conn, "case_event_id_seq", len(events))
    changes = {
        case_id: view_changes(old, views[case_id]) for case_id, old in (before or {}).items()
    }
    payloads = [
        public_event(event, views[event.case_id], changes.get(event.case_id)) for event in events
    ]
    await conn.copy_records_to_table(
        "case_events",
        columns=_EVENT_COLUMNS,
        records=[(i, *_log_values(event_to_row(e))) for i, e in zip(ids, events, strict=True)],
    )
    await conn.execute(_INSERT_OUTBOX, ids[0], ids, payloads)
    return [PendingEvent(i, with_event_id(i, p)) for i, p in zip(ids, payloads, strict=True)]


def _log_values(row: EventRow) -> tuple[Any, ...]:
    """A log row's columns in `_EVENT_COLUMNS` order, after the id."""
    return msgspec.structs.astuple(row)


def views_of(cases: Sequence[tuple[Case, PlaceNames]]) -> dict[int, CaseView]:
    """The public view of each case, by id."""
    return {case.case_id: case_view(case, names) for case, names in cases}


def _params(first: int, types: Sequence[str]) -> str:
    return ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=first))


_N_CASE = len(_CASE_TYPES)
_EVENT_TYPES = (
    "bigint",
    "int4",
    "int4",
    "text",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
)
_ASSIGNMENT_TYPES = (
    "bigint",
    "int4",
    "text",
    "text",
    "text",
    "text",
    "timestamptz",
    "text",
    "timestamptz",
    "timestamptz",
    "timestamptz",
)
_EVALUATION_TYPES = ["bigint", "text", "text", "text", "text", "timestamptz"]
_EV0 = _N_CASE + 2  # after the case columns and the expected version
_PAYLOADS = _EV0 + len(_EVENT_TYPES)
_AS0 = _PAYLOADS + 1
_EVAL0 = _AS0 + len(_ASSIGNMENT_TYPES)

# A whole command in one statement, so one round trip commits it atomically: the new state
# only if the row is still at the version the command was decided on, and everything else
# only if that update happened.
_COMMIT_CHANGE = f"""
WITH upd AS (
    UPDATE cases AS c SET {", ".join(f"{col} = u.{col}" for col in _MUTABLE)}
    FROM unnest({_params(1, _CASE_TYPES)}) AS u({", ".join(_CASE_COLUMNS)})
    -- The id as a scalar, so the row is found by its key however the plan is cached.
    WHERE c.id = ($1::bigint[])[1] AND c.version = ${_N_CASE + 1}::int4 AND u.id = c.id
    RETURNING c.id
), ev AS (
    INSERT INTO case_events (case_id, seq, version, type, at, actor, reason, causation_id,
                             step_before, step_after, data)
    SELECT * FROM unnest({_params(_EV0, _EVENT_TYPES)})
    WHERE EXISTS (SELECT 1 FROM upd)
    RETURNING id, case_id, seq
), outbox AS (
    {_outbox_insert(f"${_EV0}", f"${_EV0 + 1}", f"${_PAYLOADS}")}
), assignments AS (
    INSERT INTO case_assignments (case_id, assignment_no, unit_id, kind, name, status,
                                  dispatched_at, dispatched_by, acknowledged_at, arrived_at,
                                  finished_at)
    SELECT * FROM unnest({_params(_AS0, _ASSIGNMENT_TYPES)})
    WHERE EXISTS (SELECT 1 FROM upd)
    ON CONFLICT (case_id, assignment_no) DO UPDATE SET
        status = EXCLUDED.status, acknowledged_at = EXCLUDED.acknowledged_at,
        arrived_at = EXCLUDED.arrived_at, finished_at = EXCLUDED.finished_at
), evaluation AS (
    INSERT INTO case_evaluations (case_id, satisfaction, comment, resolution_tier,
                                  evaluated_by, evaluated_at)
    SELECT * FROM unnest({_params(_EVAL0, _EVALUATION_TYPES)})
    WHERE EXISTS (SELECT 1 FROM upd)
    ON CONFLICT (case_id) DO NOTHING
)
SELECT id AS event_id, case_id, seq FROM ev
"""


async def commit_change(
    conn: Conn,
    before: Case,
    after: Case,
    names: PlaceNames,
    events: Sequence[Event],
    now: datetime,
) -> list[PendingEvent] | None:
    """Write one command's result in one statement; None if the case moved past `before`."""
    rows = [event_to_row(event) for event in events]
    view = case_view(after, names)
    changes = view_changes(case_view(before, names), view)
    payloads = [public_event(e, view, changes) for e in events]
    new_assignments = [a for a in after.assignments if a not in before.assignments]
    closure = after.closure
    evaluations = (
        [closure]
        if closure is not None
        and closure.outcome is CaseStatus.ARCHIVED
        and closure != before.closure
        else []
    )
    inserted = await conn.fetch(
        _COMMIT_CHANGE,
        *_columns([_case_values(after, names, now)]),
        before.version,
        *_event_columns(rows),
        payloads,
        [after.case_id] * len(new_assignments),
        [a.assignment_no for a in new_assignments],
        [a.unit_id for a in new_assignments],
        [a.kind.value for a in new_assignments],
        [a.name for a in new_assignments],
        [a.status.value for a in new_assignments],
        [a.dispatched_at for a in new_assignments],
        [a.dispatched_by for a in new_assignments],
        [a.acknowledged_at for a in new_assignments],
        [a.arrived_at for a in new_assignments],
        [a.finished_at for a in new_assignments],
        [after.case_id] * len(evaluations),
        [c.satisfaction.value if c.satisfaction else None for c in evaluations],
        [c.comment for c in evaluations],
        [c.resolution_tier.value if c.resolution_tier else None for c in evaluations],
        [c.by for c in evaluations],
        [c.at for c in evaluations],
    )
    if not inserted:
        return None
    return _pending(rows, payloads, inserted)


_BUMP_COUNTER = """
INSERT INTO case_counters (county_code, day, last_seq) VALUES ($1, $2, $3)
ON CONFLICT (county_code, day) DO UPDATE SET last_seq = case_counters.last_seq + EXCLUDED.last_seq
RETURNING last_seq
"""


_GIVE_BACK = "UPDATE case_counters SET last_seq = last_seq - $3 WHERE county_code = $1 AND day = $2"


class CaseNumbers:
    """Case numbers reserved for a batch that may open up to one case per report.

    The counter rows stay locked by this transaction until it ends, so numbers not used can
    be given back and the sequence has no gaps.
    """

    def __init__(self, blocks: dict[tuple[str, date], list[int]]) -> None:
        self._blocks = blocks  # (county, local day) -> [next seq, last reserved seq]

    @classmethod
    async def reserve(
        cls, conn: Conn, openings: Iterable[tuple[Jurisdiction, datetime]]
    ) -> CaseNumbers:
        """One counter bump per county and local day, for as many cases as openings."""
        counts: dict[tuple[str, date], int] = defaultdict(int)
        for jurisdiction, at in openings:
            counts[(jurisdiction.county_code, at.astimezone(CHINA_TZ).date())] += 1
        blocks: dict[tuple[str, date], list[int]] = {}
        for (county, day), count in sorted(counts.items()):
            last = await conn.fetchval(_BUMP_COUNTER, county, day, count)
            blocks[(county, day)] = [last - count + 1, last]
        return cls(blocks)

    def next(self, jurisdiction: Jurisdiction, at: datetime) -> str:
        """The next number for a case opened in `jurisdiction` at `at`."""
        day = at.astimezone(CHINA_TZ).date()
        block = self._blocks[(jurisdiction.county_code, day)]
        if block[0] > block[1]:
            raise RuntimeError("more cases opened than reports reserved numbers for")
        block[0] += 1
        return case_number(jurisdiction.county_code, day.strftime("%Y%m%d"), block[0] - 1)

    async def give_back_unused(self, conn: Conn) -> None:
        """Return the numbers no case took (reports linked instead of opening)."""
        for (county, day), (following, last) in sorted(self._blocks.items()):
            if following <= last:
                await conn.execute(_GIVE_BACK, county, day, last - following + 1)
