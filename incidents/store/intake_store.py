"""Turning a batch of accepted reports into cases: dedupe, merge, open, all in one transaction.

Reports come out of the pending table the ingest workers fill (`form_pending`, run by the
case former).

Order inside the transaction: find which source_ids are new (a repeat is skipped), lock the
map cells the new reports could merge in, find and lock the open cases they may join, then
open or link in the domain, number the new cases, and write cases, reports (each already
pointing at its case) and events together.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.case import (
    Case,
    LinkKind,
    Location,
    Report,
    Reporter,
    case_from_snapshot,
)
from incidents.events import Event
from incidents.lifecycle import default_intake_tier, open_case
from incidents.merging import (
    DEFAULT_MERGE_RULES,
    EARTH_RADIUS_M,
    MergeCandidateQuery,
    MergeRules,
    candidate_query,
    find_merge_target,
    link_report,
)
from incidents.reports import SYSTEM_INGEST, AcceptedReport
from incidents.store.case_store import (
    CaseNumbers,
    Conn,
    PendingEvent,
    insert_cases,
    update_linked_cases,
    views_of,
    write_events,
)
from incidents.store.pending_reports import take_pending
from incidents.views import PlaceNames

# Merge locks cover ~1 km cells, so reports far apart never wait for each other.
_CELL_DEGREES = 0.01
# Nearest open cases fetched per report and cell; the domain rule picks among them.
_CANDIDATES_PER_REPORT = 2

# Reports (category and match limits, numbered from 1) and the ~1 km cells each one's merge
# box touches, as (report number, cells.merge_cell key) pairs. The cells come from Python:
# a server-side generate_series made the planner expect 1,000 cells a report and spend
# hundreds of milliseconds a batch getting ready for them.
_CELLS = """
unnest($1::int8[], $2::int8[]) AS rc(n, cell)
JOIN unnest($3::text[]) WITH ORDINALITY AS q(category, n) USING (n)
"""
# Serialise merging per cell and category: every writer locks these keys in key order.
_LOCK_CELLS = f"""
SELECT pg_advisory_xact_lock(k) FROM (
    SELECT DISTINCT hashtextextended('merge:' || q.category || ':' || rc.cell, 0) AS k
    FROM {_CELLS}
    ORDER BY k
) AS s
"""
# Per (report, cell): the nearest open cases of the category there that can match in time
# and, by an equirectangular distance with a margin, in space (exact enough at 500 m to
# shortlist; the domain rule decides), locked. Cases that cannot match are never loaded.
_LOAD_CANDIDATES = """
SELECT id, version, snapshot, township_name, village_name
FROM cases
-- An array, not IN (subquery): the cases are then fetched by key, never by a join the
-- planner might choose to run over the whole table.
WHERE id = ANY (ARRAY(
    SELECT c.id
    FROM unnest($1::int8[], $2::int8[]) AS rc(n, cell)
    JOIN unnest($3::text[], $4::timestamptz[], $5::timestamptz[], $6::float8[], $7::float8[],
                $8::float8[], $9::float8[]) WITH ORDINALITY
         AS q(category, since, until, lon, lat, cos2, reach2, n) USING (n)
    CROSS JOIN LATERAL (
        SELECT id FROM cases
        WHERE status = 'open' AND category = q.category AND merge_cell = rc.cell
          AND last_report_at >= q.since AND reported_at <= q.until
          AND (lon - q.lon) ^ 2 * q.cos2 + (lat - q.lat) ^ 2 <= q.reach2
        ORDER BY (lon - q.lon) ^ 2 * q.cos2 + (lat - q.lat) ^ 2, id
        LIMIT $10
    ) AS c
))
ORDER BY id FOR UPDATE
"""


def domain_report(report: AcceptedReport) -> Report:
    """The domain's view of an accepted report."""
    reporter = None
    if report.reporter_name is not None or report.reporter_phone is not None:
        reporter = Reporter(report.reporter_name, report.reporter_phone)
    return Report(
        source_id=report.source_id,
        channel=report.channel,
        category=report.category,
        summary=report.summary,
        location=Location(report.lon, report.lat, report.address),
        reported_at=report.reported_at,
        severity=report.severity,
        reporter=reporter,
    )


Cell = tuple[str, int, int]


def _cell_of(category: str, lon: float, lat: float) -> Cell:
    return category, math.floor(lon / _CELL_DEGREES), math.floor(lat / _CELL_DEGREES)


def cells_of(query: MergeCandidateQuery) -> list[Cell]:
    """The (category, cell) pairs a merge box touches."""
    low = _cell_of(query.category.value, query.min_lon, query.min_lat)
    high = _cell_of(query.category.value, query.max_lon, query.max_lat)
    return [
        (query.category.value, cx, cy)
        for cx in range(low[1], high[1] + 1)
        for cy in range(low[2], high[2] + 1)
    ]


def reach_degrees(metres: float) -> float:
    """A distance as degrees of latitude, 1% wider so rounding never drops a true match."""
    return math.degrees(metres * 1.01 / EARTH_RADIUS_M) + 1e-7


class _CaseCells:
    """Open cases of the batch bucketed by cell, so each report looks only at its neighbours."""

    def __init__(self) -> None:
        self._cells: dict[Cell, set[int]] = defaultdict(set)
        self.cases: dict[int, Case] = {}

    def put(self, case: Case) -> None:
        self.cases[case.case_id] = case
        cell = _cell_of(case.category.value, case.location.lon, case.location.lat)
        self._cells[cell].add(case.case_id)

    def near(self, query: MergeCandidateQuery) -> list[Case]:
        ids = set().union(*(self._cells.get(cell, set()) for cell in cells_of(query)))
        return [self.cases[cid] for cid in sorted(ids)]


def _first_of_each(reports: Sequence[AcceptedReport]) -> list[AcceptedReport]:
    """The reports in order, each source_id once (its first delivery wins)."""
    unique: dict[str, AcceptedReport] = {}
    for report in reports:
        unique.setdefault(report.source_id, report)
    return list(unique.values())


@dataclass(frozen=True, slots=True)
class Formed:
    """What one case-formation transaction did."""

    taken: int  # pending rows consumed, repeats included
    fresh: int  # reports that opened or joined a case (the rest were repeats)
    events: list[PendingEvent]


async def form_pending(
    conn: Conn, limit: int, *, rules: MergeRules = DEFAULT_MERGE_RULES
) -> Formed:
    """Form the oldest pending reports (up to `limit`) into cases, in one transaction.

    Formers take turns (a transaction-scoped advisory lock), so reports form in the order
    they were received, two formers never take the same rows, and no other writer adds
    reports meanwhile: a source_id found new here is still new when the reports are written.
    """
    async with _intake_transaction(conn, _BEGIN_FORMING):
        taken = await take_pending(conn, limit)
        batch = _first_of_each(taken)
        if not batch:
            return Formed(len(taken), 0, [])
        fresh = await _find_fresh(conn, batch)
        events = await _open_or_link(conn, fresh, rules)
        return Formed(len(taken), len(fresh), events)


# The pool forces generic plans (right for the commands' one big statement). Intake's lookups
# must see the tables as they are now: a generic plan made while the tables were empty kept
# scanning case_reports whole (180 ms a batch at 30,000 reports) until autovacuum analysed.
# Sent with BEGIN as one simple query: a round trip fewer per batch.
_BEGIN = "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan"
# The same, holding the formers' turn until the transaction ends (a crashed former's session
# ends with its connection, and the lock with it).
_FORMER_LOCK = 0x70696E67616E0001
_BEGIN_FORMING = f"{_BEGIN}; SELECT pg_advisory_xact_lock({_FORMER_LOCK})"


@asynccontextmanager
async def _intake_transaction(conn: Conn, begin: str = _BEGIN) -> AsyncIterator[None]:
    """A transaction planning its statements for the data as it is now."""
    await conn.execute(begin)
    try:
        yield
    except BaseException:
        # The first error is the one to report; a connection too broken to roll back is
        # rolled back or discarded by the pool on release (incidents.store.pool).
        with suppress(Exception):
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


# The new source_ids, in batch order, each with a fresh case id (in that order: PostgreSQL
# evaluates a volatile output column after the ORDER BY).
_FIND_FRESH = """
SELECT s.n, nextval('case_id_seq') AS case_id
FROM unnest($1::text[]) WITH ORDINALITY AS s(source_id, n)
WHERE NOT EXISTS (SELECT 1 FROM case_reports AS r WHERE r.source_id = s.source_id)
ORDER BY s.n
"""
_REPORT_COLUMNS = [
    "source_id",
    "case_id",
    "channel",
    "summary",
    "address",
    "lon",
    "lat",
    "reporter_name",
    "reporter_phone",
    "reported_at",
    "received_at",
    "link_kind",
    "linked_at",
]


def _report_values(
    report: AcceptedReport, case_id: int, kind: LinkKind | None, linked_at: datetime | None
) -> tuple[Any, ...]:
    return (
        report.source_id,
        case_id,
        report.channel._value_,
        report.summary,
        report.address,
        report.lon,
        report.lat,
        report.reporter_name,
        report.reporter_phone,
        report.reported_at,
        report.received_at,
        "opened" if kind is None else kind._value_,
        linked_at,
    )


async def _find_fresh(
    conn: Conn, batch: Sequence[AcceptedReport]
) -> list[tuple[AcceptedReport, int]]:
    """Skip source_ids already stored and reserve a case id for each other report.

    Nothing is written yet: the reports are COPYed in at the end, already pointing at the case
    they opened or joined.
    """
    rows = await conn.fetch(_FIND_FRESH, [r.source_id for r in batch])
    return [(batch[n - 1], case_id) for n, case_id in rows]


async def _open_or_link(
    conn: Conn, claimed: Sequence[tuple[AcceptedReport, int]], rules: MergeRules
) -> list[PendingEvent]:
    if not claimed:
        return []
    queries = {r.source_id: candidate_query(domain_report(r), rules) for r, _ in claimed}
    existing = await _lock_and_load_candidates(conn, [q for q in queries.values() if q])
    numbers = await CaseNumbers.reserve(
        conn, [(r.place.jurisdiction, r.received_at) for r, _ in claimed]
    )

    current = _CaseCells()
    for case, _ in existing.values():
        current.put(case)
    names: dict[int, PlaceNames] = {cid: n for cid, (_, n) in existing.items()}
    expected: dict[int, int] = {c.case_id: c.version for c, _ in existing.values()}
    opened: list[int] = []
    events: list[Event] = []
    links: list[tuple[str, int, datetime]] = []
    rows: list[tuple[Any, ...]] = []  # case_reports rows
    for accepted, case_id in claimed:
        report = domain_report(accepted)
        query = queries[accepted.source_id]
        target = find_merge_target(report, current.near(query), rules) if query else None
        if target is not None:
            case, new_events = link_report(
                target, report, actor=SYSTEM_INGEST, now=accepted.received_at, how=LinkKind.AUTO
            )
            links.append((accepted.source_id, case.case_id, accepted.received_at))
            rows.append(_report_values(accepted, case.case_id, LinkKind.AUTO, accepted.received_at))
        else:
            jurisdiction = accepted.place.jurisdiction
            case, new_events = open_case(
                report,
                case_id=case_id,
                case_no=numbers.next(jurisdiction, accepted.received_at),
                jurisdiction=jurisdiction,
                actor=SYSTEM_INGEST,
                now=accepted.received_at,
                owning_tier=default_intake_tier(accepted.channel, jurisdiction),
            )
            opened.append(case.case_id)
            names[case.case_id] = accepted.place.names
            rows.append(_report_values(accepted, case.case_id, None, None))
        current.put(case)
        events.extend(new_events)
    await numbers.give_back_unused(conn)

    cases = current.cases
    now = max(r.received_at for r, _ in claimed)
    await insert_cases(conn, [(cases[cid], names[cid]) for cid in opened], now)
    changed = sorted({cid for _, cid, _ in links} - set(opened))
    await update_linked_cases(conn, [(expected[cid], cases[cid]) for cid in changed], now)
    # In source_id order: writers then wait for each other in one order and never deadlock.
    rows.sort()
    await conn.copy_records_to_table("case_reports", columns=_REPORT_COLUMNS, records=rows)
    touched = [(cases[cid], names[cid]) for cid in {*opened, *changed}]
    before = views_of([existing[cid] for cid in changed])
    return await write_events(conn, events, views_of(touched), before)


async def _lock_and_load_candidates(
    conn: Conn, queries: Sequence[MergeCandidateQuery]
) -> dict[int, tuple[Case, PlaceNames]]:
    """Serialise merging per area and category, then load the open cases that may merge."""
    if not queries:
        return {}
    numbers: list[int] = []
    cells: list[int] = []
    for n, query in enumerate(queries, start=1):
        for _, cx, cy in cells_of(query):
            numbers.append(n)
            cells.append((cx + 20000) * 100000 + (cy + 10000))  # as cases.merge_cell
    categories = [q.category._value_ for q in queries]
    await conn.execute(_LOCK_CELLS, numbers, cells, categories)
    loaded = await conn.fetch(
        _LOAD_CANDIDATES,
        numbers,
        cells,
        categories,
        [q.reported_since for q in queries],
        [q.reported_until for q in queries],
        [q.lon for q in queries],
        [q.lat for q in queries],
        [math.cos(math.radians(q.lat)) ** 2 for q in queries],
        [reach_degrees(q.max_distance_m) ** 2 for q in queries],
        _CANDIDATES_PER_REPORT,
    )
    return {
        row["id"]: (
            case_from_snapshot(row["snapshot"]),
            PlaceNames(row["township_name"], row["village_name"]),
        )
        for row in loaded
        if row["snapshot"] is not None
    }
