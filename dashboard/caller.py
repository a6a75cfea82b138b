"""The signed-in `Caller` of a Dash callback: session, current grants and the request's address."""

from __future__ import annotations

from datetime import datetime

from dash import Dash

from dashboard.sign_in import callback_request
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
