"""The case panel's frame, its confirmation dialog and the body of one opened case."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import pick_lang, text
from dashboard.panels import case_history, dispatch, exports
from dashboard.presenters import case_panel as show
from dashboard.presenters.dispatch import DispatchRow
from incidents.access import Action, CaseRef, decide
from incidents.case import Case, Reporter, Satisfaction
from incidents.store.guarded import Caller
from incidents.store.queries import CaseDetail

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


def dialog(lang: str) -> html.Div:
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
                    None,
                    text(lang, "panel_needed"),
                    dcc.Input(id=ids.PANEL_NEEDED, type="text", maxLength=200),
                    ids.PANEL_NEEDED_ERROR,
                    ids.PANEL_NEEDED_ROW,
                ),
                _field(
                    None,
                    text(lang, "panel_asking_unit"),
                    dcc.RadioItems(id=ids.PANEL_UNIT, options=[], className="choices"),
                    ids.PANEL_UNIT + "-error",
                    ids.PANEL_UNIT_ROW,
                ),
                _field(
                    None,
                    text(lang, "panel_target_case_no"),
                    dcc.Input(id=ids.PANEL_TARGET, type="text", maxLength=40),
                    ids.PANEL_TARGET_ERROR,
                    ids.PANEL_TARGET_ROW,
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


def shell(lang: str, content: Any, state: dict[str, Any] | None) -> list[Any]:
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
        html.Div(content, id=ids.PANEL_BODY),
        dialog(lang),
        dcc.Store(id=ids.PANEL_STATE, data=state),
    ]


def move_button(move: str, label: str, why_not: str, extra: str = "") -> html.Button:
    """A button that opens the dialog for `move`; disabled, it says why in its title."""
    # The reason also shows beside it where it is laid out (title alone is not seen on touch).
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
    around_part: list[Any] | None = None,
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
        reporter_row.append(move_button(REVEAL, text(lang, "panel_reveal"), "", "reveal"))
    actor = caller.principal.user_id
    stand_downs = show.stand_down_actions(case, may_act, actor, lang, now)
    unlinks = show.unlink_actions(
        case, [r.source_id for r in detail.reports], may_act, actor, lang, now
    )
    actions = []
    for state in show.action_states(case, may_act, actor, lang, now):
        actions.append(
            html.Li(
                [
                    move_button(state.move.value, state.label, state.why_not),
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
        *case_history.assignments(detail, lang, stand_downs),
        *(around_part or []),
        *case_history.timeline(detail, lang),
        *case_history.reports(detail, lang, unlinks),
    ]
