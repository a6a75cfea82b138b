"""Confirming the chosen action: checked on the server as the caller, then done or refused."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.caller import caller_of
from dashboard.commands import TWO_CASE_MOVES, build, errors_of
from dashboard.i18n import move_name, text
from dashboard.panels import case_merging, case_sending, dispatch, plans
from dashboard.panels.case_layout import REVEAL
from dashboard.panels.case_outcome import Outcome, done, field_errors, refused
from dashboard.panels.case_reading import compose, failure_words, read, state_of
from dashboard.panels.row_moves import parse_row
from dashboard.presenters import case_panel as show
from dashboard.services import Services
from incidents.lifecycle import IllegalMove, Move
from incidents.store import guarded
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller, Refused
from incidents.store.service import StaleCase


def _errors(errors: Mapping[str, str]) -> Outcome:
    return field_errors(
        errors.get("reason", ""),
        errors.get("to_tier", ""),
        errors.get("to_owner", ""),
        errors.get("needed", ""),
        errors.get("target", ""),
    )


def register(app: Dash, services: Services) -> None:
    """The callback behind the dialog's confirm button."""

    async def reveal(
        conn: Conn, caller: Caller, case_id: int, reason: str | None, lang: str, now: datetime
    ) -> Outcome:
        """显示: the reporter in full, with the reason on the audit trail."""
        if not (reason or "").strip():
            return field_errors(reason=text(lang, "panel_need_reason"))
        try:
            reporter = await guarded.reveal_reporter(conn, caller, case_id, now, reason or "")
        except Refused as refusal:
            why = show.reason_words(refusal.reason, lang)
            return refused(text(lang, "panel_refused").format(why=why))
        detail = await guarded.case_panel(conn, caller, case_id, now)
        content = await compose(conn, services, detail, caller, lang, now, reporter)
        return done(text(lang, "panel_revealed_done"), "good", content, state_of(detail, lang))

    async def lifecycle(
        conn: Conn,
        caller: Caller,
        case_id: int,
        move: Move,
        form: dict[str, Any],
        lang: str,
        now: datetime,
        state: dict[str, Any],
    ) -> Outcome:
        """A lifecycle move: the form as a command, run through the guard as the caller."""
        built = build(move, form, caller.principal.user_id, lang)
        if built.command is None:
            return _errors(built.errors)
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
        except (StaleCase, IllegalMove, Refused) as failure:
            return refused(failure_words(failure, move, lang))
        notice = text(lang, "panel_done").format(
            move=move_name(lang, move), case_no=result.case.case_no
        )
        content, new_state = await read(app, services, case_id, lang)
        return done(notice, "good", content, new_state)

    @app.callback(
        Output(ids.PANEL_REASON_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_TIER_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_OWNER_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_NEEDED_ERROR, "children", allow_duplicate=True),
        Output(ids.PANEL_TARGET_ERROR, "children", allow_duplicate=True),
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
        State(ids.PANEL_NEEDED, "value"),
        State(ids.PANEL_UNIT, "value"),
        State(ids.PANEL_TARGET, "value"),
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
        needed: str | None,
        asking_unit: str | None,
        target: str | None,
    ) -> Outcome:
        if not n or not state or not state.get("move"):
            raise PreventUpdate
        lang, case_id, name = state["lang"], int(state["case_id"]), str(state["move"])
        form = {
            "reason": reason,
            "to_tier": tier,
            "to_owner": owner,
            "satisfaction": satisfaction,
            "comment": comment,
            "needed": needed,
            "unit": asking_unit,
            "target": target,
        }
        now = datetime.now(UTC)
        pool = await services.pool_of()
        async with pool.acquire() as conn:
            caller = await caller_of(app, conn, now)
            if caller is None:
                raise PreventUpdate
            if name == REVEAL:
                return await reveal(conn, caller, case_id, reason, lang, now)
            unit = dispatch.parse(name)
            if unit is not None:
                return await case_sending.send(
                    app, services, conn, caller, case_id, unit, reason, lang, now, state
                )
            plan = plans.parse(name)
            if plan is not None:
                return await case_sending.plan_move(
                    app, services, conn, caller, case_id, plan, reason, lang, now
                )
            if name == dispatch.PACKAGE:
                return await case_sending.send_package(
                    app, services, conn, caller, case_id, lang, now, state
                )
            row = parse_row(name)
            key = ""
            if row is not None:
                move, key, _ = row
                # The row names the unit or report; the dialog's own unit choice is not used.
                form["unit"] = key
            else:
                move = Move(name)
            if move in TWO_CASE_MOVES:
                errors = errors_of(move, form, lang)
                if errors:
                    return _errors(errors)
                if move is Move.MERGE_INTO:
                    return await case_merging.merge(
                        app, services, conn, caller, case_id, target or "", reason or "", lang,
                        now, state,
                    )  # fmt: skip
                if not key:  # a split names its report: only its row's button gives one
                    return refused(text(lang, "panel_failed"))
                return await case_merging.unlink(
                    app, services, conn, caller, case_id, key, (reason or "").strip(), lang,
                    now, state,
                )  # fmt: skip
            return await lifecycle(conn, caller, case_id, move, form, lang, now, state)
