"""The director's trends page (态势研判): a jurisdiction's figures over a period, and their
24-hour and 30-day trends as plotly charts (server-rendered; one small script draws them).

Scoped on the server: the figures are read through `guarded.trends` as the signed-in caller,
so a township user gets their township's figures and a refused role a 403 (audited). plotly.js
is served from the installed plotly package: the page asks no other host for anything.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import plotly
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from dashboard.caller import caller_for
from dashboard.i18n import browser_words, pick_lang, text
from dashboard.presenters import trend_figures
from dashboard.refusal import refusal
from dashboard.sign_in import PoolOf, session_of_request
from incidents.kpis import PeriodKpis
from incidents.store import guarded
from incidents.store.kpi_queries import local_midnight

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PLOTLY_PATH = "/trends/plotly.min.js"
PERIODS = ("today", "24h", "7d", "30d")


def period_start(period: str, now: datetime) -> datetime:
    """Where a period begins: local midnight today, 24 h ago, or the 7th / 30th local day back."""
    midnight = local_midnight(now)
    if period == "24h":
        return now - timedelta(hours=24)
    if period == "7d":
        return midnight - timedelta(days=6)
    if period == "30d":
        return midnight - timedelta(days=29)
    return midnight


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _options(choices: list[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{_e(v)}"{" selected" if v == chosen else ""}>{_e(label)}</option>'
        for v, label in choices
    )


def _picker(lang: str, scopes: list[tuple[str, str]], scope: str, period: str) -> str:
    """The jurisdiction (only if there is a choice) and period form; a plain GET."""
    if len(scopes) > 1:
        where = f'<select name="scope" id="trends-scope">{_options(scopes, scope)}</select>'
    else:
        name = dict(scopes).get(scope, scope)
        where = f'<span id="trends-scope" class="fixed">{_e(name)}</span>'
    periods = [(p, text(lang, f"trends_period_{p}")) for p in PERIODS]
    return (
        '<form class="trends-filters" method="get" action="/trends">'
        f'<input type="hidden" name="lang" value="{_e(lang)}">'
        f"<label>{_e(text(lang, 'trends_scope'))}{where}</label>"
        f"<label>{_e(text(lang, 'trends_period'))}"
        f'<select name="period" id="trends-period">{_options(periods, period)}</select></label>'
        f'<button type="submit">{_e(text(lang, "trends_show"))}</button></form>'
    )


def _counts(title: str, rows: list[tuple[str, int]], cls: str) -> str:
    items = "".join(f"<li><span>{_e(k)}</span><b>{n}</b></li>" for k, n in rows)
    return f'<section class="trends-list {cls}"><h3>{_e(title)}</h3><ol>{items}</ol></section>'


def trends_html(
    lang: str,
    user: str,
    figures: PeriodKpis,
    charts: list[tuple[str, dict[str, Any]]],
    picker: str,
    query: dict[str, str],
) -> str:
    """The whole page; every value escaped, the figures as JSON in attributes."""
    words = browser_words(lang)
    other = "en" if lang == "zh-CN" else "zh-CN"
    tiles = "".join(
        f'<div class="trends-tile" data-kpi="{_e(key)}"><span class="label">{_e(label)}</span>'
        f'<span class="value">{_e(value)}</span></div>'
        for key, label, value in trend_figures.tiles(figures, lang)
    )
    lists = (
        _counts(
            text(lang, "trends_by_channel"),
            [(words["channel"].get(c, c), n) for c, n in figures.by_channel.items()],
            "by-channel",
        )
        + _counts(
            text(lang, "trends_by_step"),
            [(words["step"].get(s, s), n) for s, n in figures.open_by_step.items()],
            "by-step",
        )
        + _counts(
            text(lang, "trends_satisfaction_levels"),
            trend_figures.satisfaction_rows(figures, lang),
            "by-satisfaction",
        )
    )
    boxes = "".join(
        f'<div class="trend-chart" id="{_e(chart_id)}" data-figure="{_e(json.dumps(fig))}"></div>'
        for chart_id, fig in charts
    )
    switch = urlencode({**query, "lang": other})
    title = text(lang, "trends_title")
    return (
        f'<!DOCTYPE html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title>"
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-400.css">'
        '<link rel="stylesheet" href="/assets/style.css">'
        '<link rel="stylesheet" href="/assets/trends/trends.css"></head>'
        f'<body class="trends-page" data-scope="{_e(figures.scope)}">'
        '<header class="topbar"><div class="brand">'
        f'<a class="product" href="/?lang={_e(lang)}">{_e(text(lang, "product"))}</a>'
        f"<span>{_e(title)} · {_e(text(lang, 'trends_heading'))}</span></div>"
        f'<span class="user">{_e(user)}</span>'
        f'<a class="lang" href="?{_e(switch)}">{_e(text(lang, "switch_lang"))}</a></header>'
        f'<main>{picker}<section class="trends-tiles">{tiles}</section>'
        f'<div class="trends-lists">{lists}</div>'
        f'<section class="trends-charts">{boxes}</section></main>'
        f'<div id="trends-config" hidden data-config="{_e(json.dumps(trend_figures.CONFIG))}">'
        f'</div><script src="{PLOTLY_PATH}"></script>'
        '<script src="/assets/trends/trends.js"></script></body></html>'
    )


def add_trends_routes(server: FastAPI, pool_of: PoolOf) -> None:
    """GET /trends (directors, analysts, duty officers, township coordinators) and plotly.js."""

    @server.get(PLOTLY_PATH)
    async def plotly_js() -> Response:
        # The installed package's own bundle: the version the figures were built for.
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    @server.get("/trends")
    async def trends(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session = session_of_request(request)
        if session is None:
            return PlainTextResponse("sign in first", 401)
        now = datetime.now(UTC)
        period = request.query_params.get("period", "today")
        period = period if period in PERIODS else "today"
        scope = request.query_params.get("scope", "").strip() or session.jurisdiction
        address = request.client.host if request.client else None
        pool = await pool_of()
        async with pool.acquire() as conn:
            caller = await caller_for(conn, session, address, now)
            if caller is None:
                return PlainTextResponse("unknown role", 403)
            try:
                figures, day, month = await guarded.trends(
                    conn, caller, scope, period_start(period, now), now
                )
            except guarded.Refused as refused:
                return refusal(refused.reason, lang)
            scopes = await guarded.trend_scopes(conn, caller)
        charts = trend_figures.figures(day, month, lang)
        picker = _picker(lang, scopes, scope, period)
        query = {"scope": scope, "period": period}
        return HTMLResponse(trends_html(lang, session.username, figures, charts, picker, query))
