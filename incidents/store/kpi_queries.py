"""The wall's key figures read from the store: the facts `incidents.kpis` computes them from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.access import scope_prefix
from incidents.kpis import (
    CaseFacts,
    CaseTimes,
    Evaluation,
    Kpis,
    PeriodKpis,
    PlanProgress,
    Verdict,
    kpis_of,
    period_kpis_of,
)
from incidents.reports import CHINA_TZ
from incidents.store.case_store import Conn
from incidents.trends import Spans, Trend, trend_of

# Closed cases older than this leave the rates: the wall shows the last 30 days' record.
WINDOW = timedelta(days=30)


def local_midnight(now: datetime) -> datetime:
    """The start of "today" in China time for the moment `now`."""
    local = now.astimezone(CHINA_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def case_facts(conn: Conn, scope: str, since: datetime) -> list[CaseFacts]:
    """Open cases in `scope`, and those opened or closed since `since`."""
    rows = await conn.fetch(
        "SELECT channel, category, step, status, opened_at, deadline_at, closed_at,"
        " resolution_tier, reopen_count, overdue_count FROM cases"
        " WHERE coalesce(township_code, county_code) LIKE $1 || '%'"
        " AND (status = 'open' OR opened_at >= $2 OR closed_at >= $2)",
        scope_prefix(scope),
        since,
    )
    return [CaseFacts(*row) for row in rows]


async def camera_statuses(conn: Conn, scope: str) -> list[str]:
    """The latest recorded status of each camera in `scope` (cameras never heard from left out)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (h.camera_id) h.status"
        " FROM camera_status_history h JOIN cameras c ON c.code = h.camera_id"
        " WHERE coalesce(c.township_code, '') LIKE $1 || '%'"
        " ORDER BY h.camera_id, h.at DESC, h.event_id DESC",
        scope_prefix(scope),
    )
    return [row["status"] for row in rows]


async def unit_statuses(conn: Conn, scope: str) -> list[str]:
    """The status of each unit based in `scope`."""
    rows = await conn.fetch(
        "SELECT s.status FROM unit_states s JOIN units u ON u.unit_id = s.unit_id"
        " WHERE coalesce(u.township_code, u.home_code) LIKE $1 || '%'",
        scope_prefix(scope),
    )
    return [row["status"] for row in rows]


async def active_plans(conn: Conn, scope: str) -> list[PlanProgress]:
    """The active contingency plans of cases in `scope`, most severe level first."""
    rows = await conn.fetch(
        "SELECT coalesce(a.snapshot->>'plan_name', a.plan_id) AS plan_name, c.case_no, a.level,"
        " count(s.done_at) AS done, count(s.step_no) AS total"
        " FROM plan_activations a JOIN cases c ON c.id = a.case_id"
        " LEFT JOIN plan_steps s ON s.activation_id = a.id"
        " WHERE a.status = 'active' AND coalesce(c.township_code, c.county_code) LIKE $1 || '%'"
        " GROUP BY a.id, c.case_no ORDER BY a.level, a.activated_at DESC LIMIT 20",
        scope_prefix(scope),
    )
    return [PlanProgress(*row) for row in rows]


async def wall_scopes(conn: Conn) -> list[str]:
    """The jurisdictions that have walls: the county and each township."""
    rows = await conn.fetch(
        "SELECT code FROM jurisdictions WHERE tier IN ('county', 'township') ORDER BY code"
    )
    return [row["code"] for row in rows]


async def jurisdiction_kpis(conn: Conn, scope: str, now: datetime) -> Kpis:
    """Every figure of the wall of `scope` at `now`."""
    start = local_midnight(now)
    cases = await case_facts(conn, scope, min(start, now - WINDOW))
    return kpis_of(
        scope,
        cases,
        await camera_statuses(conn, scope),
        await unit_statuses(conn, scope),
        start,
        now,
        await active_plans(conn, scope),
    )


ACK_ACTION = "case.overdue_acknowledged"  # the audit row an acknowledgement leaves


@dataclass(frozen=True, slots=True)
class OverdueCase:
    """An open case past its deadline, as a console lists it for acknowledgement."""

    case_id: int
    case_no: str
    township_name: str | None
    category: str
    severity: int
    deadline_at: datetime
    acknowledged: bool


async def overdue_cases(
    conn: Conn, scope: str, now: datetime, limit: int = 50
) -> list[OverdueCase]:
    """Open cases in `scope` past their deadline at `now`, longest overdue first."""
    rows = await conn.fetch(
        "SELECT c.id, c.case_no, c.township_name, c.category, c.severity, c.deadline_at,"
        " EXISTS (SELECT 1 FROM audit_log a WHERE a.case_id = c.id AND a.action = $3"
        "   AND a.outcome = 'allowed' AND a.at >= c.deadline_at) AS acknowledged"
        " FROM cases c WHERE c.status = 'open' AND c.deadline_at < $2"
        " AND coalesce(c.township_code, c.county_code) LIKE $1 || '%'"
        " ORDER BY c.deadline_at LIMIT $4",
        scope_prefix(scope),
        now,
        ACK_ACTION,
        limit,
    )
    return [OverdueCase(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class CameraSpot:
    """Where a camera stands and its latest status (None: never heard from)."""

    code: str
    lon: float
    lat: float
    status: str | None


async def camera_spots(conn: Conn, scope: str) -> list[CameraSpot]:
    """Every registered camera in `scope` with its latest recorded status."""
    rows = await conn.fetch(
        "SELECT c.code, c.lon, c.lat, h.status FROM cameras c LEFT JOIN LATERAL"
        " (SELECT status FROM camera_status_history WHERE camera_id = c.code"
        "  ORDER BY at DESC, event_id DESC LIMIT 1) h ON true"
        " WHERE c.township_code LIKE $1 || '%' ORDER BY c.code",
        scope_prefix(scope),
    )
    return [CameraSpot(*row) for row in rows]


# --- the director's trends page: figures over a period and their trends -----------------------

_IN_SCOPE = "coalesce(c.township_code, c.county_code) LIKE $1 || '%'"


async def opened_times(conn: Conn, scope: str, start: datetime, end: datetime) -> list[datetime]:
    """When each case in `scope` opened in [start, end) was opened."""
    rows = await conn.fetch(
        f"SELECT c.opened_at FROM cases c WHERE {_IN_SCOPE}"
        " AND c.opened_at >= $2 AND c.opened_at < $3",
        scope_prefix(scope),
        start,
        end,
    )
    return [row[0] for row in rows]


async def closed_facts(conn: Conn, scope: str, start: datetime, end: datetime) -> list[CaseFacts]:
    """The facts of each case in `scope` closed in [start, end)."""
    rows = await conn.fetch(
        "SELECT channel, category, step, status, opened_at, deadline_at, closed_at,"
        f" resolution_tier, reopen_count, overdue_count FROM cases c WHERE {_IN_SCOPE}"
        " AND c.closed_at >= $2 AND c.closed_at < $3",
        scope_prefix(scope),
        start,
        end,
    )
    return [CaseFacts(*row) for row in rows]


# The event log is the record of when things happened; its projections may be rebuilt.
_DISPATCHED, _ARRIVED = "case.dispatched", "case.unit_arrived"
_VERIFIED, _REOPENED = "case.verified", "case.reopened"


async def case_times(conn: Conn, scope: str, start: datetime, end: datetime) -> list[CaseTimes]:
    """Opened, first dispatch and first arrival of each case in `scope` with either in [start, end).

    Firsts are over the whole log, so a case re-dispatched in the period but first dispatched
    before it is not measured again.
    """
    rows = await conn.fetch(
        "SELECT c.opened_at, f.dispatched, f.arrived FROM ("
        "  SELECT case_id, min(at) FILTER (WHERE type = $4) AS dispatched,"
        "   min(at) FILTER (WHERE type = $5) AS arrived"
        "  FROM case_events WHERE type IN ($4, $5) AND case_id IN ("
        "   SELECT case_id FROM case_events WHERE type IN ($4, $5) AND at >= $2 AND at < $3)"
        "  GROUP BY case_id) f JOIN cases c ON c.id = f.case_id"
        f" WHERE {_IN_SCOPE}"
        " AND ((f.dispatched >= $2 AND f.dispatched < $3) OR (f.arrived >= $2 AND f.arrived < $3))",
        scope_prefix(scope),
        start,
        end,
        _DISPATCHED,
        _ARRIVED,
    )
    return [CaseTimes(*row) for row in rows]


async def verdicts(conn: Conn, scope: str, start: datetime, end: datetime) -> list[Verdict]:
    """Each verification of a case in `scope` in [start, end): passed, or failed (reopened)."""
    rows = await conn.fetch(
        "SELECT e.at, e.type = $4 FROM case_events e JOIN cases c ON c.id = e.case_id"
        f" WHERE e.type IN ($4, $5) AND e.at >= $2 AND e.at < $3 AND {_IN_SCOPE}",
        scope_prefix(scope),
        start,
        end,
        _VERIFIED,
        _REOPENED,
    )
    return [Verdict(*row) for row in rows]


async def evaluations(conn: Conn, scope: str, start: datetime, end: datetime) -> list[Evaluation]:
    """The evaluation of each case in `scope` archived in [start, end)."""
    rows = await conn.fetch(
        "SELECT v.evaluated_at, v.satisfaction FROM case_evaluations v"
        f" JOIN cases c ON c.id = v.case_id WHERE {_IN_SCOPE}"
        " AND v.evaluated_at >= $2 AND v.evaluated_at < $3",
        scope_prefix(scope),
        start,
        end,
    )
    return [Evaluation(*row) for row in rows]


async def period_kpis(conn: Conn, scope: str, start: datetime, end: datetime) -> PeriodKpis:
    """Every figure of `scope` over [start, end) (cameras and units as they are now)."""
    return period_kpis_of(
        scope,
        start,
        end,
        # Open cases for the steps, and those opened or closed in the period for the rest.
        await case_facts(conn, scope, start),
        await case_times(conn, scope, start, end),
        await verdicts(conn, scope, start, end),
        await evaluations(conn, scope, start, end),
        await camera_statuses(conn, scope),
        await unit_statuses(conn, scope),
    )


async def trend(conn: Conn, scope: str, spans: Spans) -> Trend:
    """The trend series of `scope` over `spans` (one read per kind of fact)."""
    start, end = spans.starts()[0], spans.end
    return trend_of(
        spans,
        await opened_times(conn, scope, start, end),
        await closed_facts(conn, scope, start, end),
        await case_times(conn, scope, start, end),
    )
