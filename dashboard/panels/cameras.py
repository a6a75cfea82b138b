"""The console map's cameras and units: same-origin routes the browser reads once at load.

Positions are not in the live socket's snapshot: they change only when the registry does,
and 20,000 of them on every (re)connect would slow the snapshot every screen waits for. Live
status changes arrive on the socket as `camera.status_changed` events
(assets/web/live_cameras.js applies them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dashboard.caller import request_caller
from dashboard.i18n import pick_lang
from dashboard.presenters.camera_layer import camera_layer
from dashboard.presenters.unit_roster import unit_roster
from dashboard.refusal import refusal
from incidents.store import guarded

CAMERAS_PATH = "/console/cameras.json"
UNITS_PATH = "/console/units.json"


def add_camera_routes(server: FastAPI, pool_of: Callable[[], Awaitable[Any]]) -> None:
    """GET CAMERAS_PATH and UNITS_PATH: the caller's own jurisdiction's cameras and units."""

    @server.get(CAMERAS_PATH)
    async def cameras(request: Request) -> Response:
        now = datetime.now(UTC)
        lang = pick_lang(request.query_params.get("lang"))
        pool = await pool_of()
        async with pool.acquire() as conn:
            caller = await request_caller(request, conn, now)
            if isinstance(caller, Response):
                return caller
            try:
                markers = await guarded.console_cameras(conn, caller, now)
            except guarded.Refused as refused:
                return refusal(refused.reason, lang)
        # Statuses change under it: a cached copy would show yesterday's outages.
        return JSONResponse(camera_layer(markers), headers={"Cache-Control": "no-store"})

    @server.get(UNITS_PATH)
    async def units(request: Request) -> Response:
        # Names, types and statuses at load: positions come on the socket, status changes too.
        now = datetime.now(UTC)
        lang = pick_lang(request.query_params.get("lang"))
        pool = await pool_of()
        async with pool.acquire() as conn:
            caller = await request_caller(request, conn, now)
            if isinstance(caller, Response):
                return caller
            try:
                records, tasks = await guarded.console_units(conn, caller, now)
            except guarded.Refused as refused:
                return refusal(refused.reason, lang)
        return JSONResponse(unit_roster(records, tasks), headers={"Cache-Control": "no-store"})
