"""The read side and the case commands as one principal may use them: decided, then audited.

Every screen's server code (Dash callbacks, HTTP routes, exports) goes through here, never to
`queries` or the case service directly, so that each read and change is checked against the
caller's role and jurisdiction with the one access rule (`incidents.access.decide`), and each
refusal and each reveal of personal data lands in the audit trail. A case that does not exist
is refused in the same words as one outside the caller's jurisdiction: a forged id learns
nothing about which cases exist.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from geo.cameras import Camera
from incidents.access import (
    OUTSIDE_JURISDICTION,
    Action,
    CaseRef,
    Decision,
    Principal,
    decide,
    in_scope,
    is_grid_code,
    scope_prefix,
)
from incidents.camera_defence import CameraStatusSince
from incidents.case import Jurisdiction, Reporter
from incidents.commands import Command, Dispatch
from incidents.kpis import Kpis, PeriodKpis
from incidents.merging import MergeResult, SplitResult
from incidents.store import camera_store, kpi_queries, queries, unit_store
from incidents.store.accounts import record_audit
from incidents.store.case_store import Conn
from incidents.store.queries import CaseDetail, QueueFilter, QueuePage
from incidents.store.service import CaseService, CommandResult
from incidents.trends import Trend, last_24_hours, last_30_days
from incidents.units import UnitRecord
from incidents.views import PlaceNames


class Refused(Exception):
    """The caller may not do this; `reason` is the words to show (already audited)."""

    def __init__(self, action: Action, reason: str, case_id: int | None = None) -> None:
        super().__init__(reason)
        self.action = action
        self.reason = reason
        self.case_id = case_id


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, from where: what every guarded call is judged and audited as."""

    principal: Principal
    source_address: str | None = None


_REF = (
    "SELECT id AS case_id, nullif(township_code, '') AS township_code, village_code, grid_code,"
    " owning_tier, owning_org, category FROM cases WHERE id = $1"
)


async def case_ref(conn: Conn, case_id: int) -> CaseRef | None:
    """The access-deciding fields of a case, or None if there is no such case."""
    row = await conn.fetchrow(_REF, case_id)
    return None if row is None else msgspec.convert(dict(row), CaseRef)


async def _audit(
    conn: Conn,
    caller: Caller,
    action: str,
    outcome: str,
    now: datetime,
    case_id: int | None,
    detail: str,
) -> None:
    await record_audit(
        conn,
        at=now,
        user_id=caller.principal.user_id,
        role=caller.principal.role.value,
        source_address=caller.source_address,
        action=action,
        outcome="allowed" if outcome == "allowed" else "refused",
        case_id=case_id,
        detail=detail[:500],
    )


async def record(
    conn: Conn,
    caller: Caller,
    action: str,
    now: datetime,
    case_id: int | None = None,
    detail: str = "",
) -> None:
    """Put an allowed act of the caller (an export, a reveal, an acknowledgement) on the trail."""
    await _audit(conn, caller, action, "allowed", now, case_id, detail)


async def check(
    conn: Conn, caller: Caller, action: Action, case_id: int | None, now: datetime
) -> CaseRef | None:
    """The case if `caller` may take `action` on it (or without one); else audit and refuse."""
    ref = None
    if case_id is not None:
        ref = await case_ref(conn, case_id)
        if ref is None:
            await _audit(conn, caller, action.value, "refused", now, case_id, "no such case")
            raise Refused(action, OUTSIDE_JURISDICTION, case_id)
    decision: Decision = decide(caller.principal, action, ref, now)
    if not decision.allowed:
        await _audit(conn, caller, action.value, "refused", now, case_id, decision.reason)
        raise Refused(action, decision.reason, case_id)
    return ref


def reader_prefix(principal: Principal) -> str:
    """The place prefix the principal's own queries are limited to."""
    return scope_prefix(principal.jurisdiction)


async def queue(conn: Conn, caller: Caller, wanted: QueueFilter, now: datetime) -> QueuePage:
    """The caller's queue: the filter's scope is replaced by the caller's own, never widened."""
    await check(conn, caller, Action.VIEW_CASES, None, now)
    own = reader_prefix(caller.principal)
    asked = wanted.within
    # A narrower scope inside the caller's own is honoured; anything else is the caller's own.
    within = asked if asked.startswith(own) and asked else own
    page = await queries.case_queue(conn, msgspec.structs.replace(wanted, within=within))
    if not is_grid_code(own):
        return page
    # A grid's code is a prefix of longer grid codes (-G01 of -G010): keep its own cases only.
    mine = [c for c in page.cases if c.grid_code == own]
    return QueuePage(mine, len(mine) if len(mine) < len(page.cases) else page.total)


async def case_panel(conn: Conn, caller: Caller, case_id: int, now: datetime) -> CaseDetail:
    """One case's detail for its panel (reporter masked), if the caller may view it."""
    await check(conn, caller, Action.VIEW_CASE, case_id, now)
    # The place check in SQL as well: the rule decided, the query cannot return more.
    detail = await queries.case_detail(conn, case_id, "")
    if detail is None:
        raise Refused(Action.VIEW_CASE, OUTSIDE_JURISDICTION, case_id)
    return detail


async def reveal_reporter(
    conn: Conn, caller: Caller, case_id: int, now: datetime, why: str
) -> Reporter | None:
    """The case's reporter in full, for one who may reveal it: the reveal is audited."""
    if not why.strip():
        raise Refused(Action.REVEAL_PERSONAL_DATA, "say why you reveal the reporter", case_id)
    await check(conn, caller, Action.REVEAL_PERSONAL_DATA, case_id, now)
    reporter = await queries.reporter_of(conn, case_id, "")
    await _audit(
        conn, caller, "personal_data.revealed", "allowed", now, case_id, f"reason: {why.strip()}"
    )
    return reporter


async def execute(
    service: CaseService,
    conn: Conn,
    caller: Caller,
    case_id: int,
    command: Command,
    now: datetime,
    expected_version: int | None = None,
) -> CommandResult:
    """Run a person's lifecycle command as the caller, if the caller may act on the case."""
    action = Action.DISPATCH if isinstance(command, Dispatch) else Action.ACT_ON_CASE
    await check(conn, caller, action, case_id, now)
    if command.actor != caller.principal.user_id:
        # A command names its actor; a screen may only ever act as the one signed in.
        await _audit(conn, caller, action.value, "refused", now, case_id, "actor is not the caller")
        raise Refused(action, "a command may only be given in your own name", case_id)
    return await service.execute(case_id, command, now=now, expected_version=expected_version)


# --- merge, split and what is around a case (the case panel's later actions) ---------------

# One answer for a number that names no case and one outside the caller's jurisdiction.
NO_CASE_WITH_NUMBER = "no case you may act on has that number"


class TargetRefused(Refused):
    """The case a merge names is not one the caller may merge into (already audited)."""


async def merge(
    service: CaseService,
    conn: Conn,
    caller: Caller,
    case_id: int,
    target_case_no: str,
    now: datetime,
    reason: str | None = None,
    expected_version: int | None = None,
) -> MergeResult:
    """合并 as the caller: this case into the one numbered `target_case_no`; both must be
    cases the caller may act on. The lifecycle decides the rest (lifecycle.IllegalMove)."""
    await check(conn, caller, Action.ACT_ON_CASE, case_id, now)
    row = await conn.fetchrow("SELECT id FROM cases WHERE case_no = $1", target_case_no)
    if row is None:
        await _audit(
            conn, caller, "case.merge", "refused", now, case_id, f"no case {target_case_no}"
        )
        raise TargetRefused(Action.ACT_ON_CASE, NO_CASE_WITH_NUMBER, case_id)
    try:
        await check(conn, caller, Action.ACT_ON_CASE, row["id"], now)
    except Refused as refused:
        # Outside the jurisdiction reads as no such number: a guess learns nothing.
        why = NO_CASE_WITH_NUMBER if refused.reason == OUTSIDE_JURISDICTION else refused.reason
        raise TargetRefused(Action.ACT_ON_CASE, why, case_id) from None
    return await service.merge(
        case_id,
        row["id"],
        actor=caller.principal.user_id,
        now=now,
        reason=reason,
        expected_versions=(expected_version, None),
    )


# Where a point lies in the county: its jurisdiction and the names the new case shows.
Locate = Callable[[float, float], tuple[Jurisdiction, PlaceNames]]


async def split(
    service: CaseService,
    conn: Conn,
    caller: Caller,
    case_id: int,
    source_id: str,
    reason: str,
    locate: Locate,
    now: datetime,
    expected_version: int | None = None,
) -> SplitResult:
    """拆分 as the caller: a wrongly linked report leaves the case and opens its own, placed
    where the report itself lies."""
    await check(conn, caller, Action.ACT_ON_CASE, case_id, now)
    row = await conn.fetchrow(
        "SELECT lon, lat FROM case_reports WHERE case_id = $1 AND source_id = $2",
        case_id,
        source_id,
    )
    # A report not linked here is the service's refusal (IllegalMove), before any placing.
    jurisdiction, names = (
        locate(row["lon"], row["lat"])
        if row is not None
        else (Jurisdiction(county_code="", inside_county=False), PlaceNames(None, None))
    )
    return await service.split(
        case_id,
        source_id,
        jurisdiction=jurisdiction,
        names=names,
        actor=caller.principal.user_id,
        reason=reason,
        now=now,
        expected_version=expected_version,
    )


@dataclass(frozen=True, slots=True)
class Around:
    """The forces and cameras of the caller's jurisdiction, to be placed around a case."""

    units: list[UnitRecord]
    cameras: list[Camera]
    statuses: dict[str, CameraStatusSince]


def _camera_in_scope(camera: Camera, own: str) -> bool:
    # Cameras are registered by township: a village or grid viewer is shown its township's
    # (the panel lists only those that see the viewer's own case, so nothing wider shows).
    township = scope_prefix(camera.township_code)
    return township.startswith(own) or own.startswith(township)


async def around_case(
    conn: Conn,
    caller: Caller,
    case_id: int,
    now: datetime,
    wanted: Callable[[list[Camera]], Collection[str]] | None = None,
) -> Around:
    """The units and cameras the caller may see, for the panel of a case the caller may view.

    `wanted` picks the cameras whose statuses are read (those that see the case, say); all
    of them when None.
    """
    await check(conn, caller, Action.VIEW_CASE, case_id, now)
    own = reader_prefix(caller.principal)
    units = await unit_store.unit_records(conn, own)
    if is_grid_code(own):
        units = [u for u in units if u.unit.home_code == own]
    cameras = [c for c in await camera_store.registered_cameras(conn) if _camera_in_scope(c, own)]
    codes = {c.code for c in cameras}
    if wanted is not None:
        codes &= set(wanted(cameras))
    statuses = {s.camera_id: s for s in await camera_store.statuses_of(conn, codes)}
    return Around(units, cameras, statuses)


# --- the wall screen (issue 14) ---------------------------------------------------------------


async def wall_figures(conn: Conn, caller: Caller, now: datetime) -> Kpis:
    """The wall's figures of the caller's own jurisdiction (a wall screen or a director)."""
    await check(conn, caller, Action.VIEW_WALL, None, now)
    return await kpi_queries.jurisdiction_kpis(conn, caller.principal.jurisdiction, now)


async def wall_cameras(conn: Conn, caller: Caller, now: datetime) -> list[kpi_queries.CameraSpot]:
    """The cameras the caller's wall places on its map."""
    await check(conn, caller, Action.VIEW_WALL, None, now)
    return await kpi_queries.camera_spots(conn, caller.principal.jurisdiction)


async def console_cameras(
    conn: Conn, caller: Caller, now: datetime
) -> list[camera_store.CameraMarker]:
    """The cameras on the caller's console map: those of the caller's own jurisdiction."""
    await check(conn, caller, Action.VIEW_CASES, None, now)
    return await camera_store.camera_markers(conn, reader_prefix(caller.principal))


async def console_units(
    conn: Conn, caller: Caller, now: datetime
) -> tuple[list[UnitRecord], dict[str, int]]:
    """The units on the caller's console map, and the case each one is on now."""
    await check(conn, caller, Action.VIEW_CASES, None, now)
    own = reader_prefix(caller.principal)
    units = await unit_store.unit_records(conn, own)
    if is_grid_code(own):
        units = [u for u in units if u.unit.home_code == own]
    tasks = await unit_store.active_tasks(conn, [u.unit.unit_id for u in units])
    return units, tasks


async def overdue(conn: Conn, caller: Caller, now: datetime) -> list[kpi_queries.OverdueCase]:
    """Overdue open cases in the caller's jurisdiction (a wall, or a console to acknowledge)."""
    await check(conn, caller, Action.VIEW_CASES, None, now)
    return await kpi_queries.overdue_cases(conn, caller.principal.jurisdiction, now)


async def acknowledge_overdue(
    conn: Conn, caller: Caller, case_id: int, now: datetime
) -> CaseRef | None:
    """Record that someone who may act on the case has seen it is overdue (audited)."""
    ref = await check(conn, caller, Action.ACT_ON_CASE, case_id, now)
    await _audit(conn, caller, kpi_queries.ACK_ACTION, "allowed", now, case_id, "overdue seen")
    return ref


# --- the director's trends page -----------------------------------------------------------


async def trends(
    conn: Conn, caller: Caller, scope: str, start: datetime, now: datetime
) -> tuple[PeriodKpis, Trend, Trend]:
    """The figures of `scope` since `start` and its 24-hour and 30-day trends, if `scope` lies
    in the caller's own jurisdiction (a township user gets their township, never another)."""
    await check(conn, caller, Action.VIEW_TRENDS, None, now)
    if not in_scope(scope, caller.principal.jurisdiction):
        await _audit(conn, caller, Action.VIEW_TRENDS.value, "refused", now, None, scope)
        raise Refused(Action.VIEW_TRENDS, OUTSIDE_JURISDICTION)
    midnight = kpi_queries.local_midnight(now)
    return (
        await kpi_queries.period_kpis(conn, scope, start, now),
        await kpi_queries.trend(conn, scope, last_24_hours(now)),
        await kpi_queries.trend(conn, scope, last_30_days(midnight + timedelta(days=1))),
    )


async def trend_scopes(conn: Conn, caller: Caller) -> list[tuple[str, str]]:
    """The county and townships the caller may pick on the trends page (code, name)."""
    rows = await conn.fetch(
        "SELECT code, name FROM jurisdictions WHERE tier IN ('county', 'township')"
        " AND code LIKE $1 || '%' ORDER BY tier, code",
        reader_prefix(caller.principal),
    )
    return [(row["code"], row["name"]) for row in rows]
