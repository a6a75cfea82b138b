"""The case panel's record of the case: units on it, its timeline and its reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from dashboard import ids
from dashboard.i18n import text
from dashboard.panels.row_moves import row_move
from dashboard.presenters import case_panel as show
from dashboard.presenters.case_panel import RowAction
from incidents.lifecycle import Move
from incidents.store.queries import CaseDetail


def _row_button(move: Move, action: RowAction, name: str, extra: str) -> list[Any]:
    # The same pattern as the action buttons: one dialog, one confirm path.
    return [
        html.Button(
            action.label,
            id={"type": ids.PANEL_MOVE, "move": row_move(move, action.key, name)},
            disabled=bool(action.why_not),
            title=action.why_not,
            className=f"move row-move {extra}",
        ),
        html.Span(action.why_not, className="why-not") if action.why_not else None,
    ]


def assignments(
    detail: CaseDetail, lang: str, stand_downs: Mapping[int, RowAction] | None = None
) -> list[Any]:
    """The units and departments sent to the case, where each stands, and 撤回 for those out."""
    rows = []
    for a in detail.assignments:
        action = (stand_downs or {}).get(a.assignment_no)
        line: list[Any] = [html.Span(show.assignment_line(a, lang), className="line")]
        if action is not None:
            line += _row_button(Move.STAND_DOWN, action, a.name or a.unit_id, "stand-down")
        rows.append(html.Li(line, className="assignment"))
    return [
        html.H3(text(lang, "panel_assignments")),
        html.Ul(
            rows or [html.Li(text(lang, "panel_none"), className="none")],
            className="assignments",
        ),
    ]


def timeline(detail: CaseDetail, lang: str) -> list[Any]:
    """Every event of the case, oldest first: when, who, what."""
    names = {a.unit_id: a.name for a in detail.assignments if a.name}
    return [
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
                for row in show.timeline_rows(detail.timeline, lang, names)
            ],
            className="timeline",
        ),
    ]


def reports(
    detail: CaseDetail, lang: str, unlinks: Mapping[str, RowAction] | None = None
) -> list[Any]:
    """The reports linked to the case: how each came, its text (always as text), and 拆分."""
    return [
        html.H3(text(lang, "panel_reports")),
        html.Ul(
            [
                html.Li(
                    [
                        html.Div(show.report_line(r, lang), className="how"),
                        html.Div(r.summary, className="text"),
                        *(
                            _row_button(
                                Move.UNLINK_REPORT, unlinks[r.source_id], r.summary[:40], "unlink"
                            )
                            if unlinks and r.source_id in unlinks
                            else []
                        ),
                    ],
                    className="report",
                )
                for r in detail.reports
            ]
            or [html.Li(text(lang, "panel_none"), className="none")],
            className="reports",
        ),
    ]
