"""Reading a case for its panel as the caller, and a failed act in words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import Dash, html

from dashboard.caller import caller_of
from dashboard.i18n import text
from dashboard.panels import around, dispatch, plans
from dashboard.panels.case_layout import body
from dashboard.presenters import case_panel as show
from dashboard.services import Services
from incidents.access import Action, CaseRef, decide
from incidents.case import ACTIVE_ASSIGNMENT, Case, Reporter
from incidents.lifecycle import IllegalMove, Move, replay
from incidents.store import guarded, queries
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller, Refused
from incidents.store.queries import CaseDetail
from incidents.store.service import StaleCase
from incidents.store.unit_store import UnitNotFound
from incidents.units import UnitNotAvailable


async def case_and_ref(conn: Conn, case_id: int) -> tuple[Case, CaseRef | None]:
    """The case itself (to ask the lifecycle which moves apply) and its access fields."""
    # Only called after guarded.case_panel allowed the caller this case: same case, same read.
    case = replay(await queries.case_events(conn, case_id))
    return case, await guarded.case_ref(conn, case_id)


def failure_words(failure: Exception, move: Move, lang: str) -> str:
    """Why a command or a dispatch did not happen, in words."""
    match failure:
        case StaleCase():
            return show.stale_words(failure.changed_by, failure.changed_at, lang)
        case IllegalMove():
            return show.illegal_words(move, failure.why, lang, failure.step)
        case Refused():
            return text(lang, "panel_refused").format(why=show.reason_words(failure.reason, lang))
        case UnitNotAvailable():
            return text(lang, "panel_unit_busy")
        case UnitNotFound():
            return text(lang, "panel_unit_gone")
    return text(lang, "panel_failed")


async def compose(
    conn: Conn,
    services: Services,
    detail: CaseDetail,
    caller: Caller,
    lang: str,
    now: datetime,
    revealed: Reporter | None = None,
) -> list[Any]:
    """The panel's body for a case the caller was allowed to view, with its dispatch list."""
    case, ref = await case_and_ref(conn, detail.case.id)
    rows, has_package = None, False
    may = decide(caller.principal, Action.DISPATCH, ref, now)
    # The list only where sending is a move of the step and the role dispatches at all.
    if (
        may.allowed
        and show.lifecycle_refusal(case, Move.DISPATCH, caller.principal.user_id, now) is None
    ):
        rows = await dispatch.rows_for(
            conn, services, detail.case, case, caller.principal.user_id, "", lang, now
        )
        has_package = bool(await dispatch.package(conn, case, now))
    act = decide(caller.principal, Action.ACT_ON_CASE, ref, now)
    plan_part = await plans.section(
        conn, case, "" if act.allowed else show.reason_words(act.reason, lang), lang, now
    )
    around_part = await around.section(conn, services, caller, detail.case, lang, now)
    return body(
        detail, case, ref, caller, lang, now, revealed, rows, plan_part, has_package, around_part
    )


def state_of(detail: CaseDetail, lang: str, move: str | None = None) -> dict[str, Any]:
    """What the panel keeps of the case it shows: which, at which version, the chosen move,
    and the units still on the task (the choices of who asks for more forces)."""
    active = {s.value for s in ACTIVE_ASSIGNMENT}
    units = [[a.unit_id, a.name or a.unit_id] for a in detail.assignments if a.status in active]
    return {
        "case_id": detail.case.id,
        "version": detail.case.version,
        "lang": lang,
        "move": move,
        "units": units,
    }


async def read(
    app: Dash, services: Services, case_id: int, lang: str, revealed: Reporter | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """The panel's body and state for the signed-in caller (a refusal in words, no state)."""
    now = datetime.now(UTC)
    pool = await services.pool_of()
    async with pool.acquire() as conn:
        caller = await caller_of(app, conn, now)
        if caller is None:
            return html.P(text(lang, "panel_refused").format(why=""), className="refused"), None
        try:
            detail = await guarded.case_panel(conn, caller, case_id, now)
        except Refused as refused:
            why = show.reason_words(refused.reason, lang)
            return html.P(text(lang, "panel_refused").format(why=why), className="refused"), None
        content = await compose(conn, services, detail, caller, lang, now, revealed)
        return content, state_of(detail, lang)
