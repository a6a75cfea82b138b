"""The signed-in `Caller` of a Dash callback or an HTTP route: session, grants, address."""

from __future__ import annotations

from datetime import datetime

from dash import Dash
from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

from dashboard.sign_in import callback_request, session_of_request
from incidents.store.accounts import Session, principal_of
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller


async def caller_of(app: Dash, conn: Conn, now: datetime) -> Caller | None:
    """Who sent the callback being handled, as a guarded caller (None: not signed in)."""
    session, raw = callback_request(app)
    if session is None:
        return None
    client = getattr(raw, "client", None)
    return await caller_for(conn, session, client.host if client else None, now)


async def caller_for(
    conn: Conn, session: Session, address: str | None, now: datetime
) -> Caller | None:
    """The guarded caller of a session (None for a role this build does not know)."""
    principal = await principal_of(conn, session, now)
    return None if principal is None else Caller(principal, address)


async def request_caller(request: Request, conn: Conn, now: datetime) -> Caller | Response:
    """The signed-in caller of an HTTP route, or the response that refuses the request."""
    session = session_of_request(request)
    if session is None:
        return PlainTextResponse("sign in first", 401)
    address = request.client.host if request.client else None
    caller = await caller_for(conn, session, address, now)
    return PlainTextResponse("unknown role", 403) if caller is None else caller
