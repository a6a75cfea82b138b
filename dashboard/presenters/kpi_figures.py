"""Trend figures of the KPIs (plotly): cases per hour over 24 h and per day over 30 days.

For Dash pages (the director's console); the wall draws the same counts itself as SVG bars so
that a page running for days holds no charting library. Dark, the shipped font, no outside
requests (no map, no web font from elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import plotly.graph_objects as go

from dashboard.i18n import text
from incidents.reports import CHINA_TZ

FONT = "Noto Sans SC, sans-serif"


def hour_labels(end: datetime, hours: int) -> list[str]:
    """The local start time ("HH:MM") of each of the `hours` rolling buckets ending at `end`."""
    local = end.astimezone(CHINA_TZ)
    return [(local - timedelta(hours=hours - i)).strftime("%H:%M") for i in range(hours)]


def day_labels(today: datetime, days: int) -> list[str]:
    """The local date ("MM-DD") of each of the `days` buckets ending with `today`."""
    local = today.astimezone(CHINA_TZ)
    return [(local - timedelta(days=days - 1 - i)).strftime("%m-%d") for i in range(days)]


def _figure(labels: list[str], counts: Sequence[int], title: str) -> go.Figure:
    figure = go.Figure(go.Bar(x=labels, y=list(counts), marker_color="#2f8cff"))
    figure.update_layout(
        title=title,
        template="plotly_dark",
        paper_bgcolor="#0b1a2a",
        plot_bgcolor="#0b1a2a",
        font={"family": FONT, "color": "#e6eef7"},
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        yaxis={"rangemode": "tozero", "gridcolor": "#1d3b5c"},
    )
    return figure


def trend_24h(counts: Sequence[int], end: datetime, lang: str) -> go.Figure:
    """Cases per hour over the 24 hours ending at `end` (KPI `last_24h`)."""
    return _figure(hour_labels(end, len(counts)), counts, text(lang, "wall_trend_24h"))


def trend_30d(counts: Sequence[int], today: datetime, lang: str) -> go.Figure:
    """Cases per day over the 30 days ending today (KPI `last_30d`)."""
    return _figure(day_labels(today, len(counts)), counts, text(lang, "wall_trend_30d"))
