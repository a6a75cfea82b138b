"""HTTP exports: the signed-in user's queue as CSV, checked and audited, never with reporters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from dashboard.caller import caller_for
from dashboard.i18n import pick_lang, text
from dashboard.presenters.case_panel import CST, reason_words
from dashboard.presenters.exports import queue_csv
from dashboard.sign_in import session_of_request
from incidents.access import Action
from incidents.store import guarded
from incidents.store.accounts import record_audit
from incidents.store.guarded import Refused
from incidents.store.queries import QueueFilter

EXPORT_LIMIT = 10_000  # one file; a county's open cases fit, a bigger ask is narrowed first


def add_export_routes(server: FastAPI, pool_of: Callable[[], Awaitable[Any]]) -> None:
    """GET /export/queue.csv: the caller's own queue (their scope, never wider)."""

    @server.get("/export/queue.csv")
    async def queue_export(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session = session_of_request(request)
        if session is None:
            return PlainTextResponse("sign in first", 401)
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            address = request.client.host if request.client else None
            caller = await caller_for(conn, session, address, now)
            if caller is None:
                return PlainTextResponse("unknown role", 403)
            try:
                await guarded.check(conn, caller, Action.EXPORT, None, now)
                page = await guarded.queue(
                    conn, caller, QueueFilter(within="", limit=EXPORT_LIMIT), now
                )
            except Refused as refused:
                why = text(lang, "panel_refused").format(why=reason_words(refused.reason, lang))
                return PlainTextResponse(why, 403)
            await record_audit(
                conn,
                at=now,
                user_id=caller.principal.user_id,
                role=caller.principal.role.value,
                source_address=caller.source_address,
                action="export.queue",
                outcome="allowed",
                detail=f"{len(page.cases)} cases as CSV",
            )
        name = f"queue-{now.astimezone(CST):%Y%m%d-%H%M}.csv"
        return Response(
            queue_csv(page.cases, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
