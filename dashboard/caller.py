"""The signed-in `Caller` of a Dash callback: session, current grants and the request's address."""

from __future__ import annotations

from datetime import datetime

from dash import Dash

from dashboard.sign_in import SCOPE_KEY
from incidents.access import Grant, Principal, Role
from incidents.store.accounts import Session, active_grants
from incidents.store.case_store import Conn
from incidents.store.guarded import Caller


async def caller_of(app: Dash, conn: Conn, now: datetime) -> Caller | None:
    """Who sent the callback being handled, as a guarded caller (None: not signed in)."""
    request = app.backend.request_adapter()
    # The adapter wraps the Starlette request; the session gate left the session in its scope.
    raw = getattr(request, "_request", None)
    session = raw.scope.get(SCOPE_KEY) if raw is not None else None
    if session is None:
        return None
    client = getattr(raw, "client", None)
    return await caller_for(conn, session, client.host if client else None, now)


async def caller_for(
    conn: Conn, session: Session, address: str | None, now: datetime
) -> Caller | None:
    """The guarded caller of a session (None for a role this build does not know)."""
    try:
        role = Role(session.role)
    except ValueError:
        return None
    # Grants are read on every call: a revoked grant stops counting at once.
    grants = await active_grants(conn, session.user_id, now)
    principal = Principal(
        user_id=session.username,
        role=role,
        jurisdiction=session.jurisdiction,
        grants=tuple(Grant(g.scope, g.expires_at, g.granted_by, g.reason) for g in grants),
    )
    return Caller(principal, address)
