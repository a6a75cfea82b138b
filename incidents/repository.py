"""PostgreSQL persistence for cases and their events (asyncpg); one transaction per command."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from incidents.reports import (
    CHINA_TZ,
    SYSTEM_INGEST,
    AcceptedReport,
    case_number,
)
from incidents.vocabulary import Step, Tier

EVENT_SCHEMA = "event/1"

# Functions take a plain connection or one borrowed from a pool.
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A committed event that still has to go out on the events stream."""

    event_id: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class JurisdictionRow:
    """One node of the jurisdiction tree as stored."""

    code: str
    tier: Tier
    name: str
    parent_code: str | None
    synthetic: bool


_INSERT_REPORTS = """
INSERT INTO case_reports (source_id, channel, summary, address, lon, lat,
                          reporter_name, reporter_phone, reported_at, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],
                     $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[])
ON CONFLICT (source_id) DO NOTHING
RETURNING source_id, case_id
"""

_BUMP_COUNTER = """
INSERT INTO case_counters (county_code, day, last_seq) VALUES ($1, $2, $3)
ON CONFLICT (county_code, day) DO UPDATE SET last_seq = case_counters.last_seq + EXCLUDED.last_seq
RETURNING last_seq
"""

_INSERT_CASES = """
INSERT INTO cases (id, case_no, channel, category, severity, summary, address, lon, lat,
                   inside_county, county_code, township_code, village_code, grid_code,
                   reporter_name, reporter_phone, step, status, owning_tier,
                   reported_at, opened_at, updated_at)
SELECT u.id, u.case_no, u.channel, u.category, u.severity, u.summary, u.address, u.lon, u.lat,
       u.inside_county, u.county_code, u.township_code, u.village_code, u.grid_code,
       u.reporter_name, u.reporter_phone, 'intake', 'open', 'county',
       u.reported_at, u.opened_at, u.opened_at
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::text[],
            $7::text[], $8::float8[], $9::float8[], $10::bool[], $11::text[], $12::text[],
            $13::text[], $14::text[], $15::text[], $16::text[], $17::timestamptz[],
            $18::timestamptz[])
     AS u(id, case_no, channel, category, severity, summary, address, lon, lat, inside_county,
          county_code, township_code, village_code, grid_code, reporter_name, reporter_phone,
          reported_at, opened_at)
"""

_ALLOCATE_EVENT_IDS = "SELECT nextval('case_event_id_seq') AS id FROM generate_series(1, $1::int)"

_INSERT_EVENTS = """
WITH ev AS (
    INSERT INTO case_events (id, case_id, type, at, actor, step_before, step_after, data)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[],
                         $6::text[], $7::text[], $8::jsonb[])
    RETURNING id
)
INSERT INTO event_outbox (event_id) SELECT id FROM ev
"""


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def case_view(
    *,
    case_id: int,
    case_no: str,
    report: AcceptedReport,
    step: Step,
    status: str,
) -> dict[str, Any]:
    """The case as screens and subscribers see it: no personal data at all."""
    place = report.place
    return {
        "id": case_id,
        "case_no": case_no,
        "channel": report.channel.value,
        "category": report.category.value,
        "severity": int(report.severity),
        "summary": report.summary,
        "address": report.address,
        "lon": report.lon,
        "lat": report.lat,
        "inside_county": place.inside_county,
        "township_code": place.township_code,
        "township_name": place.township_name,
        "village_code": place.village_code,
        "village_name": place.village_name,
        "grid_code": place.grid_code,
        "step": step.value,
        "status": status,
        "reported_at": _iso(report.reported_at),
        "opened_at": _iso(report.received_at),
    }


async def record_reports(conn: Conn, reports: Sequence[AcceptedReport]) -> list[PendingEvent]:
    """Persist a batch of reports in one transaction; repeats of a source_id are skipped.

    Returns the committed events, in order, for the caller to publish and then mark sent.
    """
    unique: dict[str, AcceptedReport] = {}
    for report in reports:
        unique.setdefault(report.source_id, report)
    if not unique:
        return []
    batch = list(unique.values())
    async with conn.transaction():
        rows = await conn.fetch(
            _INSERT_REPORTS,
            [r.source_id for r in batch],
            [r.channel.value for r in batch],
            [r.summary for r in batch],
            [r.address for r in batch],
            [r.lon for r in batch],
            [r.lat for r in batch],
            [r.reporter_name for r in batch],
            [r.reporter_phone for r in batch],
            [r.reported_at for r in batch],
            [r.received_at for r in batch],
        )
        case_ids = {row["source_id"]: row["case_id"] for row in rows}
        fresh = [r for r in batch if r.source_id in case_ids]
        if not fresh:
            return []
        numbers = await _allocate_case_numbers(conn, fresh)
        await conn.execute(
            _INSERT_CASES,
            [case_ids[r.source_id] for r in fresh],
            [numbers[r.source_id] for r in fresh],
            [r.channel.value for r in fresh],
            [r.category.value for r in fresh],
            [int(r.severity) for r in fresh],
            [r.summary for r in fresh],
            [r.address for r in fresh],
            [r.lon for r in fresh],
            [r.lat for r in fresh],
            [r.place.inside_county for r in fresh],
            [r.place.county_code for r in fresh],
            [r.place.township_code for r in fresh],
            [r.place.village_code for r in fresh],
            [r.place.grid_code for r in fresh],
            [r.reporter_name for r in fresh],
            [r.reporter_phone for r in fresh],
            [r.reported_at for r in fresh],
            [r.received_at for r in fresh],
        )
        event_ids = [row["id"] for row in await conn.fetch(_ALLOCATE_EVENT_IDS, len(fresh))]
        documents = []
        for event_id, report in zip(event_ids, fresh, strict=True):
            case_id = case_ids[report.source_id]
            documents.append(
                {
                    "schema": EVENT_SCHEMA,
                    "event_id": event_id,
                    "type": "case.opened",
                    "at": _iso(report.received_at),
                    "actor": SYSTEM_INGEST,
                    "case_id": case_id,
                    "source_id": report.source_id,
                    "case": case_view(
                        case_id=case_id,
                        case_no=numbers[report.source_id],
                        report=report,
                        step=Step.INTAKE,
                        status="open",
                    ),
                }
            )
        texts = [json.dumps(doc, ensure_ascii=False, separators=(",", ":")) for doc in documents]
        await conn.execute(
            _INSERT_EVENTS,
            event_ids,
            [case_ids[r.source_id] for r in fresh],
            ["case.opened"] * len(fresh),
            [r.received_at for r in fresh],
            [SYSTEM_INGEST] * len(fresh),
            [None] * len(fresh),
            [Step.INTAKE.value] * len(fresh),
            texts,
        )
    return [
        PendingEvent(event_id, text.encode("utf-8"))
        for event_id, text in zip(event_ids, texts, strict=True)
    ]


async def _allocate_case_numbers(conn: Conn, reports: Sequence[AcceptedReport]) -> dict[str, str]:
    """Reserve readable case numbers, one counter row per county and local day."""
    groups: dict[tuple[str, date], list[AcceptedReport]] = defaultdict(list)
    for report in reports:
        local_day = report.received_at.astimezone(CHINA_TZ).date()
        groups[(report.place.county_code, local_day)].append(report)
    numbers: dict[str, str] = {}
    for (county, day), group in sorted(groups.items()):
        last = await conn.fetchval(_BUMP_COUNTER, county, day, len(group))
        first = last - len(group) + 1
        for seq, report in enumerate(group, start=first):
            numbers[report.source_id] = case_number(county, day.strftime("%Y%m%d"), seq)
    return numbers


async def mark_published(conn: Conn, event_ids: Sequence[int]) -> None:
    """Drop events from the outbox once they are on the events stream."""
    if event_ids:
        await conn.execute("DELETE FROM event_outbox WHERE event_id = ANY($1::bigint[])", event_ids)


async def claim_unpublished(
    conn: Conn, older_than_seconds: float, limit: int = 500
) -> list[PendingEvent]:
    """Events a crashed writer committed but never published (older than the grace period)."""
    rows = await conn.fetch(
        "SELECT e.id, e.data::text AS data FROM event_outbox o"
        " JOIN case_events e ON e.id = o.event_id"
        " WHERE o.created_at < now() - make_interval(secs => $1)"
        " ORDER BY o.event_id LIMIT $2",
        older_than_seconds,
        limit,
    )
    return [PendingEvent(row["id"], row["data"].encode("utf-8")) for row in rows]


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


_SNAPSHOT = """
SELECT c.id, c.case_no, c.channel, c.category, c.severity, c.summary, c.address, c.lon, c.lat,
       c.inside_county, c.township_code, t.name AS township_name, c.village_code,
       v.name AS village_name, c.grid_code, c.step, c.status, c.reported_at, c.opened_at
FROM cases c
LEFT JOIN jurisdictions t ON t.code = c.township_code
LEFT JOIN jurisdictions v ON v.code = c.village_code
WHERE c.status = 'open' AND c.township_code LIKE $1 || '%'
ORDER BY c.opened_at DESC
LIMIT $2
"""


async def open_cases(conn: Conn, jurisdiction_prefix: str, limit: int) -> list[dict[str, Any]]:
    """Open cases inside a jurisdiction (by code prefix), newest first, without personal data."""
    rows = await conn.fetch(_SNAPSHOT, jurisdiction_prefix, limit)
    views = []
    for row in rows:
        view = dict(row)
        view["reported_at"] = _iso(row["reported_at"])
        view["opened_at"] = _iso(row["opened_at"])
        views.append(view)
    return views
