"""The case panel's record of the case: units on it, its timeline and its reports."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.i18n import text
from dashboard.presenters import case_panel as show
from incidents.store.queries import CaseDetail


def assignments(detail: CaseDetail, lang: str) -> list[Any]:
    """The units and departments sent to the case, and where each stands."""
    return [
        html.H3(text(lang, "panel_assignments")),
        html.Ul(
            [html.Li(show.assignment_line(a, lang)) for a in detail.assignments]
            or [html.Li(text(lang, "panel_none"), className="none")],
            className="assignments",
        ),
    ]


def timeline(detail: CaseDetail, lang: str) -> list[Any]:
    """Every event of the case, oldest first: when, who, what."""
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
                for row in show.timeline_rows(detail.timeline, lang)
            ],
            className="timeline",
        ),
    ]


def reports(detail: CaseDetail, lang: str) -> list[Any]:
    """The reports linked to the case: how each came, and its text (always as text)."""
    return [
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
