"""Choosing an action in the case panel: the confirmation dialog, set up for that action."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.commands import FIELDS, NEEDS_REASON, TIER_CHOICES
from dashboard.i18n import move_name, text
from dashboard.panels import dispatch, plans
from dashboard.panels.case_layout import REVEAL
from dashboard.panels.row_moves import parse_row
from incidents.lifecycle import Move


def register(app: Dash) -> None:
    """The callbacks that open the dialog for a pressed button, and dismiss it."""

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
        Output(ids.PANEL_NEEDED_ROW, "hidden"),
        Output(ids.PANEL_NEEDED, "value"),
        Output(ids.PANEL_NEEDED_ERROR, "children"),
        Output(ids.PANEL_UNIT_ROW, "hidden"),
        Output(ids.PANEL_UNIT, "options"),
        Output(ids.PANEL_UNIT, "value"),
        Output(ids.PANEL_TARGET_ROW, "hidden"),
        Output(ids.PANEL_TARGET, "value"),
        Output(ids.PANEL_TARGET_ERROR, "children"),
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
        row = parse_row(name)
        fields: tuple[str, ...]
        if row is not None:
            row_move, _, what = row
            title = text(lang, "panel_confirm_title").format(move=move_name(lang, row_move))
            title += f"：{what}" if lang == "zh-CN" else f": {what}"
            fields, required = FIELDS[row_move], row_move in NEEDS_REASON
        elif name == dispatch.PACKAGE:
            fields = ()
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
        # Who asks for more forces: the centre itself, or one of the units still on the task.
        asking = [{"label": text(lang, "panel_asking_centre"), "value": ""}] + [
            {"label": str(unit_name), "value": str(unit_id)}
            for unit_id, unit_name in state.get("units") or []
        ]
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
            "needed" not in fields,
            "",
            "",
            "unit" not in fields,
            asking,
            "",
            "target" not in fields,
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
