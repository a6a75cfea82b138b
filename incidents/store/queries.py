"""The read side: what screens and services read about cases, as frozen typed objects.

The dashboard and the gateway read only through here. Every query of cases takes the
jurisdiction it may look into (`within`, a code prefix, `""` for all): a case outside it is
never returned. Reporters (personal data) are never part of a view; `reporter_of` is the one
way to read them, for a caller that has checked and recorded the right to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from incidents.case import Location, Report, Reporter
from incidents.events import Event, EventRow, Payload, event_from_row, public_payload
from incidents.store.case_store import Conn
from incidents.views import VIEW_COLUMNS, VIEW_SELECT, CaseView, view_from_row
from incidents.vocabulary import Category, Channel, Moment

_LINKED_REPORTS = """
SELECT source_id, channel, summary, address, lon, lat, reporter_name, reporter_phone, reported_at
FROM case_reports
WHERE case_id = $1 AND link_kind <> 'opened' AND ($2::text IS NULL OR source_id = $2)
ORDER BY linked_at, source_id
"""


async def linked_reports(
    conn: Conn, case_id: int, category: Category, source_id: str | None = None
) -> list[Report]:
    """The reports linked to a case with their reporters, in the order they were linked.

    For the case service (merging and splitting carry reports whole); screens read
    `case_detail`, which leaves reporters out.
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


# --- the queue of open cases ----------------------------------------------------------------


class QueueOrder(msgspec.Struct, frozen=True):
    """How the queue is sorted: newest first, by deadline, or most severe first."""

    key: str = "opened_at"  # opened_at | deadline_at | severity
    descending: bool = True


_ORDERS = {
    ("opened_at", True): "opened_at DESC, id DESC",
    ("opened_at", False): "opened_at, id",
    ("deadline_at", False): "deadline_at NULLS LAST, id",
    ("deadline_at", True): "deadline_at DESC NULLS LAST, id DESC",
    ("severity", False): "severity, deadline_at NULLS LAST, id",
    ("severity", True): "severity DESC, deadline_at NULLS LAST, id DESC",
}


class QueueFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which open cases a queue shows; an empty collection means any."""

    within: str  # jurisdiction code prefix the reader may see ("" for all)
    steps: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    severities: frozenset[int] = frozenset()
    channels: frozenset[str] = frozenset()
    township_code: str | None = None
    owner: str | None = None  # assigned to this first-responsible owner
    overdue_at: datetime | None = None  # only cases whose deadline passed before this time
    order: QueueOrder = QueueOrder()
    limit: int = 200
    offset: int = 0


class QueuePage(msgspec.Struct, frozen=True, gc=False):
    """One page of the queue and how many open cases match in all."""

    cases: list[CaseView]
    total: int


# Where a case lies, as `incidents.access.case_place` says: its grid, else village, else
# township, else its owner (a case outside the county). `within` is a prefix of that place, so
# a village officer's queue holds the village's cases; the access rule checks each case again.
PLACE = "coalesce(grid_code, village_code, nullif(township_code, ''), owning_org)"


def _queue_where(wanted: QueueFilter) -> tuple[str, list[object]]:
    conditions = ["status = 'open'", f"{PLACE} LIKE $1 || '%'"]
    args: list[object] = [wanted.within]

    def add(sql: str, value: object) -> None:
        args.append(value)
        conditions.append(sql.replace("$?", f"${len(args)}"))

    if wanted.steps:
        add("step = ANY($?::text[])", sorted(wanted.steps))
    if wanted.categories:
        add("category = ANY($?::text[])", sorted(wanted.categories))
    if wanted.severities:
        add("severity = ANY($?::int2[])", sorted(wanted.severities))
    if wanted.channels:
        add("channel = ANY($?::text[])", sorted(wanted.channels))
    if wanted.township_code is not None:
        add("township_code = $?", wanted.township_code)
    if wanted.owner is not None:
        add("owner = $?", wanted.owner)
    if wanted.overdue_at is not None:
        add("deadline_at < $?", wanted.overdue_at)
    return " AND ".join(conditions), args


async def case_queue(conn: Conn, wanted: QueueFilter) -> QueuePage:
    """The open cases a filter selects, sorted and paged, with the number that match."""
    where, args = _queue_where(wanted)
    order = _ORDERS.get((wanted.order.key, wanted.order.descending))
    if order is None:
        raise ValueError(f"cannot sort the queue by {wanted.order.key!r}")
    n = len(args)
    rows = await conn.fetch(
        f"{VIEW_SELECT} WHERE {where} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        wanted.limit,
        wanted.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM cases WHERE {where}", *args)
    return QueuePage([view_from_row(row) for row in rows], int(total))


async def open_cases(conn: Conn, within: str, limit: int) -> list[CaseView]:
    """Open cases inside a jurisdiction (by code prefix), newest first, without personal data."""
    return (await case_queue(conn, QueueFilter(within=within, limit=limit))).cases


# --- one case: view, timeline, linked reports, assignments -----------------------------------


class TimelineEntry(msgspec.Struct, frozen=True, gc=False):
    """One event of a case as its timeline shows it: who, when, what (reporters masked)."""

    seq: int
    type: str
    at: Moment
    actor: str
    reason: str | None
    step_before: str | None
    step_after: str
    status_after: str
    details: Payload


class LinkedReportView(msgspec.Struct, frozen=True, gc=False):
    """A further report of the same incident, without its reporter."""

    source_id: str
    channel: str
    summary: str
    address: str | None
    lon: float
    lat: float
    reported_at: Moment
    received_at: Moment
    link_kind: str
    linked_at: Moment | None


class AssignmentView(msgspec.Struct, frozen=True, gc=False):
    """One dispatch of a unit or department to the case and its milestones."""

    assignment_no: int
    unit_id: str
    kind: str
    name: str
    status: str
    dispatched_at: Moment
    dispatched_by: str
    acknowledged_at: Moment | None
    arrived_at: Moment | None
    finished_at: Moment | None


class CaseDetail(msgspec.Struct, frozen=True, gc=False):
    """Everything a case panel shows of one case."""

    case: CaseView
    timeline: list[TimelineEntry]
    reports: list[LinkedReportView]
    assignments: list[AssignmentView]


def _columns(cls: type[msgspec.Struct]) -> str:
    return ", ".join(cls.__struct_fields__)


_VIEW_OF_ONE = (
    f"SELECT {', '.join(VIEW_COLUMNS)} FROM cases WHERE id = $1 AND {PLACE} LIKE $2 || '%'"
)
_REPORTS_OF_ONE = (
    f"SELECT {_columns(LinkedReportView)} FROM case_reports"
    " WHERE case_id = $1 AND link_kind <> 'opened' ORDER BY linked_at, source_id"
)
_EVENTS_OF_ONE = f"SELECT {_columns(EventRow)} FROM case_events WHERE case_id = $1 ORDER BY seq"
_ASSIGNMENTS_OF_ONE = (
    f"SELECT {_columns(AssignmentView)} FROM case_assignments"
    " WHERE case_id = $1 ORDER BY assignment_no"
)


def timeline_of(events: Sequence[Event]) -> list[TimelineEntry]:
    """A case's events as timeline entries, oldest first, with reporters masked."""
    return [
        TimelineEntry(
            event.seq,
            event.payload.type.value,
            event.at,
            event.actor,
            event.reason,
            event.step_before.value if event.step_before else None,
            event.step_after.value,
            event.status_after.value,
            public_payload(event.payload),
        )
        for event in events
    ]


async def case_detail(conn: Conn, case_id: int, within: str) -> CaseDetail | None:
    """One case with its timeline, linked reports and assignments; None if not `within`."""
    row = await conn.fetchrow(_VIEW_OF_ONE, case_id, within)
    if row is None:
        return None
    events = await case_events(conn, case_id)
    reports = await conn.fetch(_REPORTS_OF_ONE, case_id)
    assignments = await conn.fetch(_ASSIGNMENTS_OF_ONE, case_id)
    return CaseDetail(
        view_from_row(row),
        timeline_of(events),
        [LinkedReportView(*r) for r in reports],
        [AssignmentView(*a) for a in assignments],
    )


async def reporter_of(conn: Conn, case_id: int, within: str) -> Reporter | None:
    """Who reported the case (full personal data): for a caller that may reveal it."""
    row = await conn.fetchrow(
        f"SELECT reporter_name, reporter_phone FROM cases WHERE id = $1 AND {PLACE} LIKE $2 || '%'",
        case_id,
        within,
    )
    if row is None or (row["reporter_name"] is None and row["reporter_phone"] is None):
        return None
    return Reporter(row["reporter_name"], row["reporter_phone"])


async def case_events(conn: Conn, case_id: int) -> list[Event]:
    """A case's whole event log, oldest first (for replay and the audit trail)."""
    rows = await conn.fetch(_EVENTS_OF_ONE, case_id)
    return [event_from_row(EventRow(*row)) for row in rows]


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
