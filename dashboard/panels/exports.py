"""HTTP exports: the signed-in user's queue as CSV, checked and audited, never with reporters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from dash import html
from fastapi import FastAPI, Request
from fastapi.responses import Response

from dashboard.caller import request_caller
from dashboard.i18n import pick_lang, text
from dashboard.presenters.case_panel import CST
from dashboard.presenters.exports import queue_csv
from dashboard.refusal import refusal
from geo.pack import load_demo_pack
from geo.situation_map import MapCase, situation_map_html
from incidents.access import Action
from incidents.store import guarded
from incidents.store.guarded import Refused
from incidents.store.queries import QueueFilter

EXPORT_LIMIT = 10_000  # one file; a county's open cases fit, a bigger ask is narrowed first


def queue_link(lang: str) -> html.A:
    """A download link of the viewer's queue as CSV (for the queue's heading)."""
    return html.A(
        text(lang, "export_queue_link"),
        href=f"/export/queue.csv?lang={lang}",
        className="export-link",
    )


def case_map_href(case_id: int, lang: str) -> str:
    """Where a case's offline situation map is downloaded."""
    return f"/export/case/{case_id}/map.html?lang={lang}"


def _refusal(refused: Refused, lang: str) -> Response:
    return refusal(refused.reason, lang)


def _download(body: str, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media_type, headers=headers)


def add_export_routes(server: FastAPI, pool_of: Callable[[], Awaitable[Any]]) -> None:
    """GET /export/queue.csv (the caller's own queue) and a case's situation map."""

    @server.get("/export/case/{case_id}/map.html")
    async def case_map(case_id: int, request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            caller = await request_caller(request, conn, now)
            if isinstance(caller, Response):
                return caller
            try:
                await guarded.check(conn, caller, Action.EXPORT, case_id, now)
                detail = await guarded.case_panel(conn, caller, case_id, now)
            except Refused as refused:
                return _refusal(refused, lang)
            await guarded.record(
                conn, caller, "export.case_map", now, case_id, "situation map (offline HTML)"
            )
        view = detail.case
        page = situation_map_html(
            load_demo_pack(),  # cached: the same county the composition root serves
            cases=[MapCase(view.case_no, view.summary, view.lon, view.lat, view.severity)],
            focus=(view.lon, view.lat),
            title=f"{view.case_no} {text(lang, 'export_case_map')}",
            at=now,
        )
        return _download(page, "text/html; charset=utf-8", f"{view.case_no}-map.html")

    @server.get("/export/queue.csv")
    async def queue_export(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            caller = await request_caller(request, conn, now)
            if isinstance(caller, Response):
                return caller
            try:
                await guarded.check(conn, caller, Action.EXPORT, None, now)
                page = await guarded.queue(
                    conn, caller, QueueFilter(within="", limit=EXPORT_LIMIT), now
                )
            except Refused as refused:
                return _refusal(refused, lang)
            await guarded.record(
                conn, caller, "export.queue", now, detail=f"{len(page.cases)} cases as CSV"
            )
        name = f"queue-{now.astimezone(CST):%Y%m%d-%H%M}.csv"
        return _download(queue_csv(page.cases, lang), "text/csv; charset=utf-8", name)
