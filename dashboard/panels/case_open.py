"""Opening, refreshing and closing the case panel."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.panels.case_layout import lang_of, shell
from dashboard.panels.case_reading import read
from dashboard.services import Services


def register(app: Dash, services: Services) -> None:
    """The callbacks that open the panel on a selected case, re-read it and hide it."""

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
        content, state = await read(app, services, selected["case_id"], lang)
        return shell(lang, content, state), False

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
        content, new_state = await read(app, services, int(state["case_id"]), lang_of(search))
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
