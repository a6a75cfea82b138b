"""The case panel's acts that send forces or run plans: one unit, the whole package, a plan step.

Each returns the confirm callback's outputs (see `case_confirm.Outcome`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import Dash

from dashboard.i18n import text
from dashboard.panels import dispatch, plans
from dashboard.panels.case_outcome import Outcome, done, field_errors, refused
from dashboard.panels.case_reading import case_and_ref, failure_words, read
from dashboard.services import Services
from incidents.access import Action
from incidents.lifecycle import IllegalMove, Move
from incidents.store import guarded
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller, Refused
from incidents.store.service import StaleCase
from incidents.store.unit_store import UnitNotFound
from incidents.units import UnitNotAvailable


async def plan_move(
    app: Dash,
    services: Services,
    conn: Conn,
    caller: Caller,
    case_id: int,
    plan: tuple[str, int | str, int, str],
    words: str | None,
    lang: str,
    now: datetime,
) -> Outcome:
    """A plan button's move: the guard, then the plan service."""
    what, target, arg, name = plan
    text_given = (words or "").strip()
    if plans.dialog(lang, what, arg, name)[1] and not text_given:
        return field_errors(reason=text(lang, "panel_need_reason"))
    try:
        await guarded.check(conn, caller, Action.ACT_ON_CASE, case_id, now)
    except Refused as refusal:
        return refused(failure_words(refusal, Move.DISPATCH, lang))
    notice, worked = await plans.act(
        services, case_id, what, target, arg, name, text_given, caller.principal.user_id, lang, now
    )
    if not worked:
        return refused(notice)
    content, new_state = await read(app, services, case_id, lang)
    return done(notice, "good", content, new_state)


async def send_package(
    app: Dash,
    services: Services,
    conn: Conn,
    caller: Caller,
    case_id: int,
    lang: str,
    now: datetime,
    state: dict[str, Any],
) -> Outcome:
    """全部派遣: the running plans' force package, filled from the recommendation."""
    try:
        await guarded.check(conn, caller, Action.DISPATCH, case_id, now)
    except Refused as refusal:
        return refused(failure_words(refusal, Move.DISPATCH, lang))
    detail = await guarded.case_panel(conn, caller, case_id, now)
    case, _ = await case_and_ref(conn, case_id)
    filled = await dispatch.fill(conn, services, detail.case, case, now)
    service = await services.cases_of()
    version: int | None = int(state["version"])
    sent: list[str] = []
    problem = ""
    for rec, rank in filled.picks:
        try:
            result = await service.dispatch_unit(
                case_id,
                rec.unit_id,
                actor=caller.principal.user_id,
                now=now,
                recommendation_rank=rank,
                expected_version=version,
            )
        except (StaleCase, IllegalMove, UnitNotAvailable, UnitNotFound) as failure:
            problem = failure_words(failure, Move.DISPATCH, lang)
            break
        version = result.case.version  # each dispatch is one more version of the case
        sent.append(rec.name)
    sep = "、" if lang == "zh-CN" else ", "
    notice = text(lang, "panel_package_done").format(n=len(sent), names=sep.join(sent))
    if filled.short:
        short = sep.join(f"{text(lang, f'utype_{t}')}×{n}" for t, n in filled.short)
        notice += " " + text(lang, "panel_package_short").format(short=short)
    if problem:
        notice += " " + problem
    tone = "good" if sent and not problem and not filled.short else "bad"
    content, new_state = await read(app, services, case_id, lang)
    return done(notice, tone, content, new_state)


async def send(
    app: Dash,
    services: Services,
    conn: Conn,
    caller: Caller,
    case_id: int,
    unit: tuple[str, str, int, bool],
    reason: str | None,
    lang: str,
    now: datetime,
    state: dict[str, Any],
) -> Outcome:
    """Send one recommended unit: the guard first, then the dispatch with its rank."""
    unit_id, name, rank, available = unit
    why = (reason or "").strip()
    if not available and not why:
        return field_errors(reason=text(lang, "panel_unit_busy"))
    try:
        await guarded.check(conn, caller, Action.DISPATCH, case_id, now)
        result = await (await services.cases_of()).dispatch_unit(
            case_id,
            unit_id,
            actor=caller.principal.user_id,
            now=now,
            recommendation_rank=rank,
            override_reason=None if available else why,
            expected_version=int(state["version"]),
        )
        notice = text(lang, "panel_dispatch_done").format(name=name, case_no=result.case.case_no)
    except (StaleCase, IllegalMove, Refused, UnitNotAvailable, UnitNotFound) as failure:
        return refused(failure_words(failure, Move.DISPATCH, lang))
    content, new_state = await read(app, services, case_id, lang)
    return done(notice, "good", content, new_state)
