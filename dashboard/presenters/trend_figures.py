"""The trends page's tiles and plotly figures, as plain values (tested without a browser).

Figures are plain dicts `{"data", "layout"}` for `Plotly.newPlot`: no template (plotly's own
would be shipped whole in every figure), the shipped font only, no map, so a chart makes no
request; `CONFIG` keeps the modebar free of plotly's logo and outside links.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dashboard.i18n import text
from incidents.kpis import Durations, PeriodKpis
from incidents.reports import CHINA_TZ
from incidents.trends import Trend

FONT = "Noto Sans SC, sans-serif"
DASH = "—"  # nothing to rate: never shown as 0
# No logo link, no "edit in Chart Studio", no sending to plotly's cloud.
CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["sendDataToCloud", "toImage"],
}
SERIES = ("opened", "on_time_rate", "dispatch_median_s", "reopen_rate")
_RATES = frozenset({"on_time_rate", "reopen_rate"})


def percent(value: float | None) -> str:
    """A share as "87.5%", or a dash when there is nothing to rate."""
    return DASH if value is None else f"{value * 100:.1f}%"


def duration(seconds: float | None, lang: str) -> str:
    """A wait in whole minutes and seconds (hours and minutes past an hour), or a dash."""
    if seconds is None:
        return DASH
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return text(lang, "trends_hm").format(h=hours, m=minutes)
    return text(lang, "trends_ms").format(m=minutes, s=secs)


def _waits(d: Durations, lang: str) -> str:
    return text(lang, "trends_median_p90").format(
        median=duration(d.median_s, lang), p90=duration(d.p90_s, lang), n=d.count
    )


def tiles(figures: PeriodKpis, lang: str) -> list[tuple[str, str, str]]:
    """(key, label, value) of every tile, in the order shown."""
    sat = figures.satisfaction
    rows = [
        ("opened", "trends_opened", str(figures.opened)),
        ("open", "trends_open", str(sum(figures.open_by_step.values()))),
        ("on_time", "wall_on_time", percent(figures.on_time_rate)),
        ("dispatch", "trends_time_to_dispatch", _waits(figures.time_to_dispatch, lang)),
        ("arrival", "trends_time_to_arrival", _waits(figures.time_to_arrival, lang)),
        ("low_share", "wall_low_share", percent(figures.resolved_low_share)),
        ("verified", "trends_verification", percent(figures.verification_pass_rate)),
        ("reopen", "wall_reopen", percent(figures.reopen_rate)),
        ("satisfied", "trends_satisfaction", percent(sat.rate)),
        ("cameras", "wall_camera_online", percent(figures.camera_online_rate)),
        ("units", "trends_units_available", str(figures.units_available)),
    ]
    return [(key, text(lang, label), value) for key, label, value in rows]


def satisfaction_rows(figures: PeriodKpis, lang: str) -> list[tuple[str, int]]:
    """Each satisfaction level's name and count (every level, none left out)."""
    return [
        (text(lang, f"trends_sat_{level}"), n) for level, n in figures.satisfaction.by_level.items()
    ]


def labels(starts: Sequence[datetime], hourly: bool) -> list[str]:
    """Each bucket's local start: "HH:MM" by hour, "MM-DD" by day."""
    pattern = "%H:%M" if hourly else "%m-%d"
    return [s.astimezone(CHINA_TZ).strftime(pattern) for s in starts]


def _values(trend: Trend, series: str) -> list[float | None]:
    raw: Sequence[float | int | None] = getattr(trend, series)
    if series == "dispatch_median_s":
        return [None if v is None else round(v / 60, 2) for v in raw]  # minutes read better
    if series in _RATES:
        return [None if v is None else round(v * 100, 1) for v in raw]
    return [None if v is None else float(v) for v in raw]


def figure(trend: Trend, series: str, hourly: bool, lang: str) -> dict[str, Any]:
    """One series over one span set as a plotly figure dict (gaps where nothing was rated)."""
    x = labels(trend.starts, hourly)
    y = _values(trend, series)
    trace: dict[str, Any] = (
        {"type": "bar", "marker": {"color": "#2f8cff"}}
        if series == "opened"
        else {
            "type": "scatter",
            "mode": "lines+markers",
            "connectgaps": False,
            "line": {"color": "#ffb347"},
        }
    )
    span = "24h" if hourly else "30d"
    yaxis: dict[str, Any] = {"rangemode": "tozero", "gridcolor": "#1d3b5c", "zeroline": False}
    if series in _RATES:
        yaxis.update(range=[0, 100], ticksuffix="%")
    return {
        "data": [{**trace, "x": x, "y": y, "name": text(lang, f"trends_series_{series}")}],
        "layout": {
            "title": {
                "text": text(lang, f"trends_series_{series}") + " · " + text(lang, f"trends_{span}")
            },
            "paper_bgcolor": "#0b1a2a",
            "plot_bgcolor": "#0b1a2a",
            "font": {"family": FONT, "color": "#e6eef7", "size": 13},
            "margin": {"l": 48, "r": 12, "t": 40, "b": 48},
            # Every other label at most: 24 or 30 slanted labels overlap in a quarter-width chart.
            "xaxis": {"type": "category", "gridcolor": "#1d3b5c", "tickangle": -45, "nticks": 13},
            "yaxis": yaxis,
            "showlegend": False,
            "height": 260,
        },
    }


def figures(day: Trend, month: Trend, lang: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, figure) of every chart: each series over 24 hours, then each over 30 days."""
    out = [(f"trend-24h-{s}", figure(day, s, True, lang)) for s in SERIES]
    return out + [(f"trend-30d-{s}", figure(month, s, False, lang)) for s in SERIES]
