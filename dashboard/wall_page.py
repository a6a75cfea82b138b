"""The wall screen (大屏) at /wall and the console's overdue acknowledgement at /overdue.

Server-rendered with one script of its own (`assets/web/wall/wall.js`): the page is read-only
and mouse-free and runs for days, so it carries no framework, only an SVG map drawn once here
and a few lists the script rebuilds in place from the gateway's socket. Every word and value
goes out escaped; the script sets text with textContent only. Reporters never reach the wall:
it reads the public case view and the figures of `incidents.kpis`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from dashboard.i18n import _CATEGORIES, _CHANNELS, _SEVERITIES, _STEPS, _TEXTS, pick_lang, text
from dashboard.presenters.wall_map import WallMap, wall_map
from dashboard.refusal import refusal
from dashboard.sign_in import PoolOf, csrf_for, csrf_ok, read_form, session_of_request, with_csrf
from incidents import kpis
from incidents.access import Principal, Role
from incidents.store import guarded
from incidents.store.accounts import Session

# The wall's element ids, once; the script gets them in its configuration.
WALL_IDS: Mapping[str, str] = {
    name.upper(): f"wall-{name.replace('_', '-')}"
    for name in (
        "config",
        "clock",
        "link",
        "map",
        "cases",
        "units",
        "cameras",
        "today",
        "open",
        "overdue",
        "on_time",
        "low_share",
        "reopen",
        "camera_online",
        "cameras_offline",
        "by_step",
        "by_channel",
        "trend_24h",
        "trend_30d",
        "newest",
        "overdue_list",
        "forces",
        "camera_townships",
        "plans",
        "kpi_at",
        "focus",
    )
}
Publish = Callable[[bytes], Awaitable[None]]  # puts one event on the events stream


def _principal(session: Session) -> Principal:
    return Principal(session.username, Role(session.role), session.jurisdiction)


def _caller(request: Request, session: Session) -> guarded.Caller:
    address = request.client.host if request.client else None
    return guarded.Caller(_principal(session), address)


def wall_words(lang: str) -> dict[str, dict[str, str]]:
    """Every word the wall's script shows, in one language."""
    lang = pick_lang(lang)
    return {
        "ui": {k: v for k, v in _TEXTS[lang].items() if k.startswith(("wall_", "link_"))},
        "category": _CATEGORIES[lang],
        "channel": _CHANNELS[lang],
        "severity": _SEVERITIES[lang],
        "step": {str(step): name for step, name in _STEPS[lang].items()},
    }


def _tile(lang: str, key: str, cls: str = "") -> str:
    return (
        f'<div class="tile {cls}"><span class="label">{html.escape(text(lang, key))}</span>'
        f'<span class="value" id="{WALL_IDS[key.removeprefix("wall_").upper()]}">—</span></div>'
    )


def _panel(lang: str, key: str, body_id: str, cls: str, tag: str = "ol") -> str:
    return (
        f'<section class="panel {cls}"><h2>{html.escape(text(lang, key))}</h2>'
        f'<{tag} id="{WALL_IDS[body_id.upper()]}" class="body"></{tag}></section>'
    )


def map_svg(drawn: WallMap) -> str:
    """The map: township outlines and names, then empty layers the script fills."""
    townships = "".join(
        f'<path class="township" data-code="{html.escape(t.code)}" d="{t.path}"></path>'
        for t in drawn.townships
    )
    labels = "".join(
        f'<text class="township-name" x="{t.label[0]}" y="{t.label[1]}">{html.escape(t.name)}'
        "</text>"
        for t in drawn.townships
    )
    return (
        f'<svg id="{WALL_IDS["MAP"]}" class="wall-map" viewBox="0 0 {drawn.width} '
        f'{round(drawn.height, 1)}" preserveAspectRatio="xMidYMid meet" role="img">'
        f'<g class="townships">{townships}</g>'
        f'<path class="boundary" d="{drawn.boundary}"></path>'
        f'<g class="labels">{labels}</g>'
        f'<g id="{WALL_IDS["CAMERAS"]}"></g><g id="{WALL_IDS["UNITS"]}"></g>'
        f'<g id="{WALL_IDS["CASES"]}"></g></svg>'
    )


def wall_html(
    lang: str,
    title: str,
    drawn: WallMap,
    live_config: Mapping[str, Any],
) -> str:
    """The whole wall page; `live_config` is embedded as an attribute, escaped."""
    config = html.escape(json.dumps(live_config, ensure_ascii=False, default=str), quote=True)

    def t(key: str) -> str:
        return html.escape(text(lang, key))

    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-400.css">'
        '<link rel="stylesheet" href="/assets/wall.css"></head>'
        '<body class="wall-page"><div class="wall">'
        f'<header class="wall-head"><h1>{html.escape(title)}</h1>'
        f'<span id="{WALL_IDS["FOCUS"]}" class="focus" hidden></span>'
        f'<span id="{WALL_IDS["KPI_AT"]}" class="kpi-at"></span>'
        f'<span id="{WALL_IDS["LINK"]}" class="link">{t("link_connecting")}</span>'
        f'<span id="{WALL_IDS["CLOCK"]}" class="clock"></span></header>'
        '<section class="panel kpis">'
        + "".join(
            _tile(lang, key, cls)
            for key, cls in (
                ("wall_today", "big"),
                ("wall_open", "big"),
                ("wall_overdue", "big alert"),
                ("wall_on_time", ""),
                ("wall_low_share", ""),
                ("wall_reopen", ""),
            )
        )
        + f'<h3>{t("wall_by_step")}</h3><ol id="{WALL_IDS["BY_STEP"]}" class="bars"></ol>'
        f'<h3>{t("wall_by_channel")}</h3><ol id="{WALL_IDS["BY_CHANNEL"]}" class="bars"></ol>'
        "</section>"
        f'<section class="panel map"><h2>{t("wall_map")}</h2>{map_svg(drawn)}'
        '<ul class="legend">'
        + "".join(
            f'<li class="sev-{n}">{html.escape(_SEVERITIES[lang][str(n)])}</li>'
            for n in (1, 2, 3, 4)
        )
        + "</ul></section>"
        + _panel(lang, "wall_overdue_list", "overdue_list", "overdue-panel")
        + _panel(lang, "wall_newest", "newest", "newest")
        + '<section class="panel trends">'
        f'<h2>{t("wall_trend_24h")}</h2><div id="{WALL_IDS["TREND_24H"]}" class="trend"></div>'
        f'<h2>{t("wall_trend_30d")}</h2><div id="{WALL_IDS["TREND_30D"]}" class="trend"></div>'
        "</section>"
        + _panel(lang, "wall_forces", "forces", "forces", "ul")
        + '<section class="panel cameras">'
        f'<h2>{t("wall_cameras")}</h2><div class="camera-tiles">'
        + _tile(lang, "wall_camera_online")
        + _tile(lang, "wall_cameras_offline", "alert")
        + f'</div><ol id="{WALL_IDS["CAMERA_TOWNSHIPS"]}" class="bars"></ol></section>'
        + _panel(lang, "wall_plans", "plans", "plans")
        + f'</div><div id="{WALL_IDS["CONFIG"]}" hidden data-config="{config}"></div>'
        '<script src="/assets/wall/wall.js"></script></body></html>'
    )


def _township_names(townships: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(p.get("code")): str(p.get("name"))
        for f in townships.get("features") or []
        if (p := f.get("properties") or {})
    }


def add_wall_routes(
    server: FastAPI,
    pool_of: PoolOf,
    townships: Mapping[str, Any],
    boundary: Mapping[str, Any],
    county_name: str,
    ws_port: int,
    protocol: Mapping[str, Any],
    publish: Publish,
) -> None:
    """GET /wall (wall screens and directors), GET /overdue and POST /overdue/ack (consoles)."""
    names = _township_names(townships)

    @server.get("/wall")
    async def wall(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session = session_of_request(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        caller = _caller(request, session)
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            try:
                figures = await guarded.wall_figures(conn, caller, now)
                cameras = await guarded.wall_cameras(conn, caller, now)
                overdue = await guarded.overdue(conn, caller, now)
            except guarded.Refused as refused:
                return refusal(refused.reason, lang)
        scope = session.jurisdiction
        drawn = wall_map(townships, boundary, scope)
        place = names.get(scope, county_name)
        live_config = {
            "ws_port": ws_port,
            "scope": scope,
            "lang": lang,
            "words": wall_words(lang),
            "protocol": dict(protocol),
            "ids": dict(WALL_IDS),
            "events": {"kpi": kpis.KPI_EVENT, "ack": kpis.OVERDUE_ACK_EVENT},
            "projection": drawn.projection.as_config(),
            "townships": names,
            "kpis": kpis.plain(figures),
            "cameras": [
                [c.code, *drawn.projection.xy(c.lon, c.lat), c.status or ""] for c in cameras
            ],
            "acknowledged": [o.case_id for o in overdue if o.acknowledged],
        }
        title = f"{place}{text(lang, 'wall_title')}"
        return HTMLResponse(wall_html(lang, title, drawn, live_config))

    @server.get("/overdue")
    async def overdue_page(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session = session_of_request(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        token, fresh = csrf_for(request)
        pool = await pool_of()
        async with pool.acquire() as conn:
            try:
                rows = await guarded.overdue(conn, _caller(request, session), datetime.now(UTC))
            except guarded.Refused as refused:
                return refusal(refused.reason, lang)
        notice = request.query_params.get("notice", "")
        page = HTMLResponse(overdue_html(lang, token, rows, notice))
        return with_csrf(page, token, fresh, request.url.scheme == "https")

    @server.post("/overdue/ack")
    async def acknowledge(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session = session_of_request(request)
        form = await read_form(request)
        if session is None or not csrf_ok(request, form):
            return PlainTextResponse("missing or wrong CSRF token", 403)
        try:
            case_id = int(form.get("case_id"))
        except ValueError:
            return PlainTextResponse("no such case", 400)
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            try:
                ref = await guarded.acknowledge_overdue(
                    conn, _caller(request, session), case_id, now
                )
            except guarded.Refused as refused:
                return RedirectResponse(
                    f"/overdue?lang={lang}&notice=refused:{refused.reason}", 303
                )
        await publish(
            kpis.overdue_ack_event(
                case_id, ref.township_code if ref else None, session.username, now
            )
        )
        return RedirectResponse(f"/overdue?lang={lang}&notice=done", status_code=303)


def overdue_html(lang: str, csrf: str, rows: list[Any], notice: str) -> str:
    """The console's list of overdue cases, each with an acknowledge button (a form)."""

    def t(key: str) -> str:
        return html.escape(text(lang, key))

    shown = ""
    if notice == "done":
        shown = f'<p class="notice" role="status">{t("wall_ack_done")}</p>'
    elif notice.startswith("refused:"):
        reason = text(lang, "wall_ack_refused").replace("{reason}", notice[8:])
        shown = f'<p class="error" role="alert">{html.escape(reason)}</p>'
    items = []
    for row in rows:
        label = (
            f"{row.case_no} · {_SEVERITIES[lang].get(str(row.severity), row.severity)} · "
            f"{_CATEGORIES[lang].get(row.category, row.category)} · {row.township_name or ''}"
        )
        button = (
            f'<span class="acked">{t("wall_acknowledged")}</span>'
            if row.acknowledged
            else (
                f'<form method="post" action="/overdue/ack?lang={lang}">'
                f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
                f'<input type="hidden" name="case_id" value="{row.case_id}">'
                f'<button type="submit">{t("wall_ack")}</button></form>'
            )
        )
        items.append(
            f'<li data-case-id="{row.case_id}"><span>{html.escape(label)}</span>{button}</li>'
        )
    body = "".join(items) or f"<li>{t('wall_no_overdue')}</li>"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{t('wall_overdue_page')}</title>"
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-400.css">'
        '<link rel="stylesheet" href="/assets/wall.css"></head>'
        f'<body class="overdue-page"><main><h1>{t("wall_overdue_page")}</h1>{shown}'
        f'<ul class="overdue-acks">{body}</ul></main></body></html>'
    )
