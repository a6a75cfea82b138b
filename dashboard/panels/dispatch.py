"""The dispatch list of the case panel: recommended units, and sending one through the guard."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime
from typing import Any

from dash import html

from dashboard import ids
from dashboard.i18n import text
from dashboard.presenters.dispatch import DispatchRow, PackageFill, dispatch_rows, fill_package
from dashboard.services import Services
from geo.pack import load_demo_pack
from geo.recommend import recommend
from geo.routing import Router
from incidents.case import Case
from incidents.plans import ForceRequest, PlanStatus, force_requests
from incidents.store.case_store import Conn
from incidents.store.plan_store import activations_of_case
from incidents.store.unit_store import unit_records
from incidents.units import recommendation_inputs
from incidents.views import CaseView

PREFIX = "dispatch:"  # a dispatch button's move: the prefix and [unit id, name, rank, available]
_ROUTER: dict[str, Router] = {}
_BUILDING = threading.Lock()


def _county_router() -> Router:
    with _BUILDING:
        if "county" not in _ROUTER:
            # The composition root serves the demo pack (app._pack); the router is its roads.
            _ROUTER["county"] = Router.from_pack(load_demo_pack())
        return _ROUTER["county"]


async def router() -> Router:
    """The county's road router, built once per process off the event loop (about a second)."""
    built = _ROUTER.get("county")
    return built if built is not None else await asyncio.to_thread(_county_router)


async def rows_for(
    conn: Conn,
    services: Services,
    view: CaseView,
    case: Case,
    actor: str,
    refusal: str,
    lang: str,
    now: datetime,
) -> list[DispatchRow]:
    """The recommended units for the case, available ones first, busy ones flagged."""
    # The fleet and its statuses are no personal data: read directly once the caller has been
    # found allowed to dispatch on this case (the panel asks before calling this).
    records = await unit_records(conn)
    units = recommendation_inputs(records, await services.positions_of())
    recommendations = recommend(
        await router(),
        view.lon,
        view.lat,
        units,
        now,
        category=view.category,
        case_township_code=view.township_code,
        include_unavailable=True,
    )
    by_id = {r.unit.unit_id: r for r in records}
    return dispatch_rows(recommendations, by_id, case, actor, refusal, lang, now)


PACKAGE = "package"  # the 全部派遣 button's move


async def package(conn: Conn, case: Case, now: datetime) -> tuple[ForceRequest, ...]:
    """The force package of the plans running on the case (none: no 全部派遣 button)."""
    requests: list[ForceRequest] = []
    for activation in await activations_of_case(conn, case.case_id):
        if activation.status is PlanStatus.ACTIVE:
            requests += force_requests(activation.plan)
    return tuple(requests)


async def fill(
    conn: Conn, services: Services, view: CaseView, case: Case, now: datetime
) -> PackageFill:
    """The units that fill the running plans' package, best first by road time."""
    requests = await package(conn, case, now)
    records = await unit_records(conn)
    units = recommendation_inputs(records, await services.positions_of())
    # Every capable unit ranked (not only the category's top five): the package names types.
    ranked = recommend(
        await router(),
        view.lon,
        view.lat,
        units,
        now,
        case_township_code=view.township_code,
        k=len(units),
    )
    return fill_package(requests, ranked, {r.unit.unit_id: r for r in records}, case)


def move_of(row: DispatchRow) -> str:
    """The dispatch button's move name: what the dialog needs to know of the unit."""
    return PREFIX + json.dumps([row.unit_id, row.name, row.rank, row.available], ensure_ascii=False)


def parse(move: str) -> tuple[str, str, int, bool] | None:
    """The unit of a dispatch button's move name, or None if it is not one."""
    if not move.startswith(PREFIX):
        return None
    unit_id, name, rank, available = json.loads(move[len(PREFIX) :])
    return str(unit_id), str(name), int(rank), bool(available)


def section(rows: list[DispatchRow], lang: str, has_package: bool = False) -> list[Any]:
    """The dispatch list's heading and rows (and 全部派遣 when a plan with forces runs)."""
    items: list[Any] = []
    if has_package:
        items.append(
            html.Li(
                html.Button(
                    text(lang, "panel_package"),
                    id={"type": ids.PANEL_MOVE, "move": PACKAGE},
                    className="move package",
                ),
                className="package",
            )
        )
    for row in rows:
        items.append(
            html.Li(
                className="unit" + ("" if row.available else " busy"),
                children=[
                    html.Div(
                        [
                            html.Span(row.name, className="name"),
                            html.Span(row.status, className="status"),
                            html.Button(
                                text(lang, "panel_dispatch_send"),
                                id={"type": ids.PANEL_MOVE, "move": move_of(row)},
                                disabled=bool(row.why_not),
                                title=row.why_not,
                                className="move send",
                            ),
                        ],
                        className="head",
                    ),
                    html.Div(row.line, className="line"),
                    html.Div(row.reason, className="reason") if row.reason else None,
                    html.Div(row.why_not, className="why-not") if row.why_not else None,
                ],
            )
        )
    if not rows:
        items.append(html.Li(text(lang, "panel_dispatch_none"), className="none"))
    return [html.H3(text(lang, "panel_dispatch")), html.Ul(items, className="dispatch")]
