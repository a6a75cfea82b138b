"""The manual intake form (walk-in, phone): shown in the panel slot, submitted as intake/1."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.caller import caller_of
from dashboard.i18n import browser_words, text
from dashboard.panels.case_panel import lang_of
from dashboard.presenters.case_panel import CST, reason_words
from dashboard.presenters.intake_form import FORM_CHANNELS, FORM_FIELDS, check
from dashboard.services import Services
from geo.pack import load_demo_pack
from incidents.access import Action
from incidents.store import guarded
from incidents.store.guarded import Refused


@cache
def townships() -> dict[str, tuple[str, float, float]]:
    """The county's townships: code → name and a point inside it (for a pick without GPS)."""
    # The composition root serves the demo pack (app._pack): the same townships.
    out = {}
    for town in load_demo_pack().townships:
        point = town.geometry.representative_point()
        out[town.code] = (town.name, float(point.x), float(point.y))
    return out


def _id(field: str) -> str:
    return f"{ids.INTAKE_FORM}-{field}"


def _row(field: str, label: str, control: Any) -> html.Div:
    return html.Div(
        className="field",
        children=[
            html.Label(label, htmlFor=_id(field)),
            control,
            html.Span(id=_id(field) + "-error", className="field-error", role="alert"),
        ],
    )


def form(lang: str) -> list[Any]:
    """The form's fields, each with its error line."""
    words = browser_words(lang)
    channels = [{"label": words["channel"][c.value], "value": c.value} for c in FORM_CHANNELS]
    categories = [{"label": label, "value": code} for code, label in words["category"].items()]
    severities = [{"label": label, "value": int(code)} for code, label in words["severity"].items()]
    towns = [{"label": name, "value": code} for code, (name, _, _) in townships().items()]
    return [
        html.Button(text(lang, "panel_close"), id=ids.INTAKE_CLOSE, className="panel-close"),
        html.H2(text(lang, "intake_title"), className="panel-summary"),
        html.Div(id=ids.INTAKE_NOTICE, className="panel-notice", role="status"),
        html.Div(
            className="intake-form",
            children=[
                _row(
                    "channel",
                    text(lang, "intake_channel"),
                    dcc.RadioItems(
                        id=_id("channel"), options=channels, value="walk_in", className="choices"
                    ),
                ),
                _row(
                    "category",
                    text(lang, "intake_category"),
                    dcc.RadioItems(id=_id("category"), options=categories, className="choices"),
                ),
                _row(
                    "severity",
                    text(lang, "intake_severity"),
                    dcc.RadioItems(id=_id("severity"), options=severities, className="choices"),
                ),
                _row(
                    "summary",
                    text(lang, "intake_summary"),
                    dcc.Textarea(id=_id("summary"), maxLength=600),
                ),
                _row(
                    "address",
                    text(lang, "intake_address"),
                    dcc.Input(id=_id("address"), type="text"),
                ),
                html.Div(
                    className="pair",
                    children=[
                        _row(
                            "lon",
                            text(lang, "intake_lon"),
                            dcc.Input(id=_id("lon"), type="text", inputMode="numeric"),
                        ),
                        _row(
                            "lat",
                            text(lang, "intake_lat"),
                            dcc.Input(id=_id("lat"), type="text", inputMode="numeric"),
                        ),
                    ],
                ),
                _row(
                    "township",
                    text(lang, "intake_township"),
                    dcc.RadioItems(id=_id("township"), options=towns, className="choices"),
                ),
                html.Div(
                    className="pair",
                    children=[
                        _row(
                            "name",
                            text(lang, "intake_name"),
                            dcc.Input(id=_id("name"), type="text"),
                        ),
                        _row(
                            "phone",
                            text(lang, "intake_phone"),
                            dcc.Input(id=_id("phone"), type="tel"),
                        ),
                    ],
                ),
                html.Button(
                    text(lang, "intake_submit"), id=ids.INTAKE_SUBMIT, className="primary submit"
                ),
            ],
        ),
    ]


def opener(lang: str) -> html.Button:
    """The button that opens the form (for the console's top bar)."""
    return html.Button(text(lang, "intake_open"), id=ids.INTAKE_OPEN, className="intake-open")


def register(app: Dash, services: Services) -> None:
    """The form's callbacks: open it in the panel slot, close it, check and submit it."""
    # The opener asks through the opened-case store, so that whatever opens cases opens this.
    app.clientside_callback(  # type: ignore[no-untyped-call]  # untyped in Dash's stubs
        "function (n) { if (!n) { return window.dash_clientside.no_update; }"
        " return {intake: true, n: n}; }",
        Output(ids.SELECTED_CASE, "data", allow_duplicate=True),
        Input(ids.INTAKE_OPEN, "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.CASE_PANEL, "children", allow_duplicate=True),
        Output(ids.CASE_PANEL, "hidden", allow_duplicate=True),
        Input(ids.SELECTED_CASE, "data"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def open_form(selected: dict[str, Any] | None, search: str | None) -> tuple[Any, bool]:
        if not selected or selected.get("intake") is not True:
            raise PreventUpdate
        return form(lang_of(search)), False

    @app.callback(
        Output(ids.CASE_PANEL, "hidden", allow_duplicate=True),
        Input(ids.INTAKE_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )
    def close(n: int | None) -> bool:
        if not n:
            raise PreventUpdate
        return True

    @app.callback(
        *(Output(_id(field) + "-error", "children") for field in FORM_FIELDS),
        Output(ids.INTAKE_NOTICE, "children"),
        Output(ids.INTAKE_NOTICE, "className"),
        Input(ids.INTAKE_SUBMIT, "n_clicks"),
        *(State(_id(field), "value") for field in FORM_FIELDS),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    async def submit(n: int | None, *values: Any) -> tuple[Any, ...]:
        if not n:
            raise PreventUpdate
        lang = lang_of(values[-1])
        fields = dict(zip(FORM_FIELDS, values[:-1], strict=True))
        now = datetime.now(UTC)
        points = {code: (lon, lat) for code, (_, lon, lat) in townships().items()}
        day = now.astimezone(CST).strftime("%Y%m%d")
        source_id = f"{fields.get('channel') or 'manual'}-{day}-{uuid.uuid4().hex[:10]}"
        checked = check(fields, points, source_id, now.astimezone(CST), lang)
        errors = tuple(checked.errors.get(field, "") for field in FORM_FIELDS)
        if checked.document is None:
            return (*errors, no_update, no_update)
        pool = await services.pool_of()
        async with pool.acquire() as conn:
            caller = await caller_of(app, conn, now)
            if caller is None:
                raise PreventUpdate
            try:
                await guarded.check(conn, caller, Action.INTAKE_REPORT, None, now)
            except Refused as refused:
                words = text(lang, "panel_refused").format(why=reason_words(refused.reason, lang))
                return (*errors, words, "panel-notice bad")
        if services.submit_report is None:
            return (*errors, text(lang, "intake_unwired"), "panel-notice bad")
        sent = await services.submit_report(checked.document)
        return (*errors, text(lang, "intake_done").format(source_id=sent), "panel-notice good")
