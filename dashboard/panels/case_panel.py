"""The opened case: its facts, reporter, timeline, reports, units and lifecycle actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.caller import caller_of
from dashboard.commands import FIELDS, NEEDS_REASON, TIER_CHOICES, build
from dashboard.i18n import move_name, pick_lang, text
from dashboard.panels import dispatch, exports, plans
from dashboard.presenters import case_panel as show
from dashboard.presenters.dispatch import DispatchRow
from dashboard.services import Services
from incidents.access import Action, CaseRef, decide
from incidents.case import Case, Reporter, Satisfaction
from incidents.lifecycle import IllegalMove, Move, replay
from incidents.store import guarded, queries
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller, Refused
from incidents.store.queries import CaseDetail
from incidents.store.service import StaleCase
from incidents.store.unit_store import UnitNotFound
from incidents.units import UnitNotAvailable

REVEAL = "reveal"  # the reveal button shares the action buttons' pattern and dialog


def lang_of(search: str | None) -> str:
    """The page's language from its query string (?lang=en)."""
    query = parse_qs((search or "").lstrip("?"))
    return pick_lang((query.get("lang") or [""])[0] or None)


def _field(
    label_id: str | None, label: str, control: Any, error_id: str, row_id: str | None
) -> html.Div:
    return html.Div(
        id=row_id or f"{error_id}-row",
        className="field",
        children=[
            html.Label(label, id=label_id or f"{error_id}-label"),
            control,
            html.Span(id=error_id, className="field-error", role="alert"),
        ],
    )


def _dialog(lang: str) -> html.Div:
    """The confirmation dialog every action opens, with every field any action needs."""
    satisfactions = [
        {"label": text(lang, f"sat_{s.value}"), "value": s.value} for s in Satisfaction
    ]
    return html.Div(
        id=ids.PANEL_DIALOG,
        className="panel-dialog",
        hidden=True,
        role="dialog",
        children=html.Div(
            className="panel-dialog-card",
            children=[
                html.H3(id=ids.PANEL_DIALOG_TITLE),
                _field(
                    ids.PANEL_TIER_ROW + "-label",
                    text(lang, "panel_to_tier"),
                    dcc.RadioItems(id=ids.PANEL_TIER, options=[], className="choices"),
                    ids.PANEL_TIER_ERROR,
                    ids.PANEL_TIER_ROW,
                ),
                _field(
                    None,
                    text(lang, "panel_to_owner"),
                    dcc.Input(id=ids.PANEL_OWNER, type="text", maxLength=64),
                    ids.PANEL_OWNER_ERROR,
                    ids.PANEL_OWNER_ROW,
                ),
                _field(
                    None,
                    text(lang, "panel_satisfaction"),
                    dcc.RadioItems(
                        id=ids.PANEL_SATISFACTION, options=satisfactions, className="choices"
                    ),
                    ids.PANEL_SATISFACTION + "-error",
                    ids.PANEL_SATISFACTION_ROW,
                ),
                _field(
                    None,
                    text(lang, "panel_comment"),
                    dcc.Input(id=ids.PANEL_COMMENT, type="text", maxLength=500),
                    ids.PANEL_COMMENT + "-error",
                    ids.PANEL_COMMENT_ROW,
                ),
                _field(
                    ids.PANEL_REASON_LABEL,
                    text(lang, "panel_reason"),
                    dcc.Textarea(id=ids.PANEL_REASON, maxLength=500),
                    ids.PANEL_REASON_ERROR,
                    ids.PANEL_REASON + "-row",
                ),
                html.Div(
                    className="dialog-buttons",
                    children=[
                        html.Button(
                            text(lang, "panel_confirm"), id=ids.PANEL_CONFIRM, className="primary"
                        ),
                        html.Button(text(lang, "panel_cancel"), id=ids.PANEL_DISMISS),
                    ],
                ),
            ],
        ),
    )


def _shell(lang: str, body: Any, state: dict[str, Any] | None) -> list[Any]:
    """The panel's frame: close button, body, notice line, dialog and the panel's state."""
    return [
        html.Div(
            className="panel-buttons",
            children=[
                html.Button(text(lang, "panel_refresh"), id=ids.PANEL_REFRESH),
                html.Button(text(lang, "panel_close"), id=ids.PANEL_CLOSE),
            ],
        ),
        html.Div(id=ids.PANEL_NOTICE, className="panel-notice", role="status"),
        # Filled by live.js when someone else changes this case (assets/web/live.js).
        html.Div(
            id=ids.PANEL_LIVE_NOTICE, className="panel-live-notice", role="status", hidden=True
        ),
        html.Div(body, id=ids.PANEL_BODY),
        _dialog(lang),
        dcc.Store(id=ids.PANEL_STATE, data=state),
    ]


def _move_button(move: str, label: str, why_not: str, extra: str = "") -> html.Button:
    # A disabled button says why in its title and beside it (title alone is not seen on touch).
    return html.Button(
        label,
        id={"type": ids.PANEL_MOVE, "move": move},
        disabled=bool(why_not),
        title=why_not,
        className=f"move {extra}".strip(),
    )


def body(
    detail: CaseDetail,
    case: Case,
    ref: CaseRef | None,
    caller: Caller,
    lang: str,
    now: datetime,
    revealed: Reporter | None = None,
    dispatch_rows: list[DispatchRow] | None = None,
    plan_part: list[Any] | None = None,
    has_package: bool = False,
) -> list[Any]:
    """What the panel shows of one case for one caller."""
    view = detail.case
    # Which buttons to offer: the one access rule, asked without auditing (the guarded call
    # that acts decides again, and audits a refusal).
    may_act = decide(caller.principal, Action.ACT_ON_CASE, ref, now)
    may_reveal = decide(caller.principal, Action.REVEAL_PERSONAL_DATA, ref, now).allowed
    reporter = revealed or show.masked_reporter(detail)
    reporter_row: list[Any] = [
        html.Span(
            show.reporter_words(reporter, lang), className="reporter", id="case-panel-reporter"
        ),
    ]
    if revealed is not None:
        reporter_row.append(html.Span(text(lang, "panel_revealed"), className="revealed"))
    elif may_reveal and reporter is not None:
        reporter_row.append(_move_button(REVEAL, text(lang, "panel_reveal"), "", "reveal"))
    actions = []
    for state in show.action_states(case, may_act, caller.principal.user_id, lang, now):
        actions.append(
            html.Li(
                [
                    _move_button(state.move.value, state.label, state.why_not),
                    html.Span(state.why_not, className="why-not") if state.why_not else None,
                ],
                className="enabled" if state.enabled else "disabled",
            )
        )
    return [
        html.H2(view.summary, className="panel-summary"),
        html.Dl(
            className="facts",
            children=[
                part
                for label, value in show.facts(view, lang)
                for part in (html.Dt(label), html.Dd(value))
            ]
            + [html.Dt(text(lang, "panel_reporter")), html.Dd(reporter_row)],
        ),
        html.A(
            text(lang, "export_case_map_link"),
            href=exports.case_map_href(view.id, lang),
            className="export-link",
        )
        if decide(caller.principal, Action.EXPORT, ref, now).allowed
        else None,
        html.H3(text(lang, "panel_actions")),
        html.Ul(actions, className="actions"),
        *(plan_part or []),
        *(dispatch.section(dispatch_rows, lang, has_package) if dispatch_rows is not None else []),
        html.H3(text(lang, "panel_assignments")),
        html.Ul(
            [html.Li(show.assignment_line(a, lang)) for a in detail.assignments]
            or [html.Li(text(lang, "panel_none"), className="none")],
            className="assignments",
        ),
        html.H3(text(lang, "panel_timeline")),
        html.Ol(
            [
                html.Li(
                    [
                        html.Span(row.at, className="at"),
                        html.Span(row.who, className="who"),
                        html.Span(row.what, className="what"),
                    ]
                )
                for row in show.timeline_rows(detail.timeline, lang)
            ],
            className="timeline",
        ),
        html.H3(text(lang, "panel_reports")),
        html.Ul(
            [
                html.Li(
                    [
                        html.Div(show.report_line(r, lang), className="how"),
                        html.Div(r.summary, className="text"),
                    ]
                )
                for r in detail.reports
            ]
            or [html.Li(text(lang, "panel_none"), className="none")],
            className="reports",
        ),
    ]


async def _case_and_ref(conn: Conn, case_id: int) -> tuple[Case, CaseRef | None]:
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
    case, ref = await _case_and_ref(conn, detail.case.id)
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
    return body(detail, case, ref, caller, lang, now, revealed, rows, plan_part, has_package)


def _state(detail: CaseDetail, lang: str, move: str | None = None) -> dict[str, Any]:
    return {"case_id": detail.case.id, "version": detail.case.version, "lang": lang, "move": move}


def register(app: Dash, services: Services) -> None:
    """The case panel's callbacks: open, close, choose an action, confirm it."""

    async def read(
        case_id: int, lang: str, revealed: Reporter | None = None
    ) -> tuple[Any, dict[str, Any] | None]:
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
                return html.P(
                    text(lang, "panel_refused").format(why=why), className="refused"
                ), None
            content = await compose(conn, services, detail, caller, lang, now, revealed)
            return content, _state(detail, lang)

    @app.callback(
        Output(ids.CASE_PANEL, "children"),
        Output(ids.CASE_PANEL, "hidden"),
        Input(ids.SELECTED_CASE, "data"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    async def open_case(selected: dict[str, Any] | None, search: str | None) -> tuple[Any, bool]:
        if not selected or not isinstance(selected.get("case_id"), int):
            raise PreventUpdate
        lang = lang_of(search)
        content, state = await read(selected["case_id"], lang)
        return _shell(lang, content, state), False

    @app.callback(
        Output(ids.PANEL_BODY, "children", allow_duplicate=True),
        Output(ids.PANEL_STATE, "data", allow_duplicate=True),
        Output(ids.PANEL_NOTICE, "children", allow_duplicate=True),
        Input(ids.PANEL_REFRESH, "n_clicks"),
        State(ids.PANEL_STATE, "data"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    async def refresh(
        n: int | None, state: dict[str, Any] | None, search: str | None
    ) -> tuple[Any, Any, str]:
        if not n or not state:
            raise PreventUpdate
        content, new_state = await read(int(state["case_id"]), lang_of(search))
        return content, new_state, ""

    @app.callback(
        Output(ids.CASE_PANEL, "hidden", allow_duplicate=True),
        Input(ids.PANEL_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )
    def close(n: int | None) -> bool:
        if not n:
            raise PreventUpdate
        return True

    @app.callback(
        Output(ids.PANEL_DIALOG, "hidden"),
        Output(ids.PANEL_DIALOG_TITLE, "children"),
        Output(ids.PANEL_TIER_ROW, "hidden"),
        Output(ids.PANEL_TIER, "options"),
        Output(ids.PANEL_TIER, "value"),
        Output(ids.PANEL_OWNER_ROW, "hidden"),
        Output(ids.PANEL_SATISFACTION_ROW, "hidden"),
        Output(ids.PANEL_COMMENT_ROW, "hidden"),
        Output(ids.PANEL_REASON_LABEL, "children"),
        Output(ids.PANEL_REASON, "value"),
        Output(ids.PANEL_REASON_ERROR, "children"),
        Output(ids.PANEL_TIER_ERROR, "children"),
        Output(ids.PANEL_OWNER_ERROR, "children"),
        Output(ids.PANEL_STATE, "data"),
        Input({"type": ids.PANEL_MOVE, "move": ALL}, "n_clicks"),
        State(ids.PANEL_STATE, "data"),
        prevent_initial_call=True,
    )
    def choose(clicks: list[int | None], state: dict[str, Any] | None) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if not state or not isinstance(trigger, dict) or not any(clicks):
            raise PreventUpdate
        lang = state["lang"]
        name = str(trigger["move"])
        unit = dispatch.parse(name)
        plan = plans.parse(name)
        if name == dispatch.PACKAGE:
            fields: tuple[str, ...] = ()
            title, required = text(lang, "panel_package_title"), False
        elif plan is not None:
            fields = ("reason",)
            title, required, label_key = plans.dialog(lang, plan[0], plan[2], plan[3])
        elif unit is not None:
            fields = ("reason",)
            title = text(lang, "panel_dispatch_title").format(name=unit[1])
            required = not unit[3]  # sending a unit that is not available needs a reason
        elif name == REVEAL:
            fields = ("reason",)
            title, required = text(lang, "panel_reveal_title"), True
        else:
            move = Move(name)
            title = text(lang, "panel_confirm_title").format(move=move_name(lang, move))
            fields = FIELDS[move]
            required = move in NEEDS_REASON
        tiers = TIER_CHOICES.get(Move(name), ()) if name in set(Move) else ()
        options = [{"label": text(lang, f"tier_{t.value}"), "value": t.value} for t in tiers]
        if name == Move.ESCALATE.value:
            options.insert(0, {"label": text(lang, "panel_to_tier_default"), "value": ""})
        if plan is None:
            label_key = "panel_reason" if required else "panel_reason_optional"
        label = text(lang, label_key)
        return (
            False,
            title,
            "to_tier" not in fields,
            options,
            "",
            "to_owner" not in fields,
            "satisfaction" not in fields,
            "comment" not in fields,
            label,
            "",
            "",
            "",
            "",
            {**state, "move": name},
        )

    @app.callback(
        Output(ids.PANEL_DIALOG, "hidden", allow_duplicate=True),
        Input(ids.PANEL_DISMISS, "n_clicks"),
        prevent_initial_call=True,
    )
    def dismiss(n: int | None) -> bool:
        if not n:
            raise PreventUpdate
        return True

    async def plan_move(
        conn: Conn,
        caller: Caller,
        case_id: int,
        plan: tuple[str, int | str, int, str],
        words: str | None,
        lang: str,
        now: datetime,
    ) -> tuple[Any, ...]:
        """A plan button's move: the guard, then the plan service."""
        what, target, arg, name = plan
        text_given = (words or "").strip()
        if plans.dialog(lang, what, arg, name)[1] and not text_given:
            words_needed = text(lang, "panel_need_reason")
            return (words_needed, "", "", no_update, no_update, no_update, False, no_update)
        try:
            await guarded.check(conn, caller, Action.ACT_ON_CASE, case_id, now)
        except Refused as refused:
            notice = failure_words(refused, Move.DISPATCH, lang)
            return ("", "", "", notice, "panel-notice bad", no_update, True, no_update)
        notice, worked = await plans.act(
            services,
            case_id,
            what,
            target,
            arg,
            name,
            text_given,
            caller.principal.user_id,
            lang,
            now,
        )
        if not worked:
            return ("", "", "", notice, "panel-notice bad", no_update, True, no_update)
        content, new_state = await read(case_id, lang)
        return ("", "", "", notice, "panel-notice good", content, True, new_state)

    async def send_package(
        conn: Conn,
        caller: Caller,
        case_id: int,
        lang: str,
        now: datetime,
        state: dict[str, Any],
    ) -> tuple[Any, ...]:
        """全部派遣: the running plans' force package, filled from the recommendation."""
        try:
            await guarded.check(conn, caller, Action.DISPATCH, case_id, now)
        except Refused as refused:
            notice = failure_words(refused, Move.DISPATCH, lang)
            return ("", "", "", notice, "panel-notice bad", no_update, True, no_update)
        detail = await guarded.case_panel(conn, caller, case_id, now)
        case, _ = await _case_and_ref(conn, case_id)
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
        content, new_state = await read(case_id, lang)
        return ("", "", "", notice, f"panel-notice {tone}", content, True, new_state)

    async def send(
        conn: Conn,
        caller: Caller,
        case_id: int,
        unit: tuple[str, str, int, bool],
        reason: str | None,
        lang: str,
        now: datetime,
        state: dict[str, Any],
    ) -> tuple[Any, ...]:
        """Send one recommended unit: the guard first, then the dispatch with its rank."""
        unit_id, name, rank, available = unit
        why = (reason or "").strip()
        if not available and not why:
            words = text(lang, "panel_unit_busy")
            return (words, "", "", no_update, no_update, no_update, False, no_update)
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
            notice = text(lang, "panel_dispatch_done").format(
                name=name, case_no=result.case.case_no
            )
        except (StaleCase, IllegalMove, Refused, UnitNotAvailable, UnitNotFound) as failure:
            return (
                "",
                "",
                "",
                failure_words(failure, Move.DISPATCH, lang),
                "panel-notice bad",
                no_update,
                True,
                no_update,
            )
        content, new_state = await read(case_id, lang)
        return ("", "", "", notice, "panel-notice good", content, True, new_state)

    @app.callback(
        Output(ids.PANEL_REASON_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_TIER_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_OWNER_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_NOTICE, "children"),
        Output(ids.PANEL_NOTICE, "className"),
        Output(ids.PANEL_BODY, "children"),
        Output(ids.PANEL_DIALOG, "hidden", allow_duplicate=True),
        Output(ids.PANEL_STATE, "data", allow_duplicate=True),
        Input(ids.PANEL_CONFIRM, "n_clicks"),
        State(ids.PANEL_STATE, "data"),
        State(ids.PANEL_REASON, "value"),
        State(ids.PANEL_TIER, "value"),
        State(ids.PANEL_OWNER, "value"),
        State(ids.PANEL_SATISFACTION, "value"),
        State(ids.PANEL_COMMENT, "value"),
        prevent_initial_call=True,
    )
    async def confirm(
        n: int | None,
        state: dict[str, Any] | None,
        reason: str | None,
        tier: str | None,
        owner: str | None,
        satisfaction: str | None,
        comment: str | None,
    ) -> tuple[Any, ...]:
        if not n or not state or not state.get("move"):
            raise PreventUpdate
        lang, case_id, name = state["lang"], int(state["case_id"]), str(state["move"])
        form = {
            "reason": reason,
            "to_tier": tier,
            "to_owner": owner,
            "satisfaction": satisfaction,
            "comment": comment,
        }
        now = datetime.now(UTC)
        pool = await services.pool_of()
        async with pool.acquire() as conn:
            caller = await caller_of(app, conn, now)
            if caller is None:
                raise PreventUpdate
            if name == REVEAL:
                if not (reason or "").strip():
                    return (
                        text(lang, "panel_need_reason"),
                        "",
                        "",
                        no_update,
                        no_update,
                        no_update,
                        False,
                        no_update,
                    )
                try:
                    reporter = await guarded.reveal_reporter(
                        conn, caller, case_id, now, reason or ""
                    )
                except Refused as refused:
                    why = show.reason_words(refused.reason, lang)
                    return (
                        "",
                        "",
                        "",
                        text(lang, "panel_refused").format(why=why),
                        "panel-notice bad",
                        no_update,
                        True,
                        no_update,
                    )
                detail = await guarded.case_panel(conn, caller, case_id, now)
                content = await compose(conn, services, detail, caller, lang, now, reporter)
                return (
                    "",
                    "",
                    "",
                    text(lang, "panel_revealed_done"),
                    "panel-notice good",
                    content,
                    True,
                    _state(detail, lang),
                )
            unit = dispatch.parse(name)
            if unit is not None:
                return await send(conn, caller, case_id, unit, reason, lang, now, state)
            plan = plans.parse(name)
            if plan is not None:
                return await plan_move(conn, caller, case_id, plan, reason, lang, now)
            if name == dispatch.PACKAGE:
                return await send_package(conn, caller, case_id, lang, now, state)
            move = Move(name)
            built = build(move, form, caller.principal.user_id, lang)
            if built.command is None:
                errors = built.errors
                return (
                    errors.get("reason", ""),
                    errors.get("to_tier", ""),
                    errors.get("to_owner", ""),
                    no_update,
                    no_update,
                    no_update,
                    False,
                    no_update,
                )
            service = await services.cases_of()
            try:
                result = await guarded.execute(
                    service,
                    conn,
                    caller,
                    case_id,
                    built.command,
                    now,
                    expected_version=int(state["version"]),
                )
                notice, tone = (
                    text(lang, "panel_done").format(
                        move=move_name(lang, move), case_no=result.case.case_no
                    ),
                    "good",
                )
            except (StaleCase, IllegalMove, Refused) as failure:
                notice, tone = failure_words(failure, move, lang), "bad"
        # After a change the panel re-reads the case; after a refusal it stays as it was (a
        # stale panel re-reads when the user opens the case again, as the message asks).
        if tone == "good":
            content, new_state = await read(case_id, lang)
            return ("", "", "", notice, "panel-notice good", content, True, new_state)
        return ("", "", "", notice, "panel-notice bad", no_update, True, no_update)
