"""Who a screen's socket belongs to, and whether it may watch the scope it asks for.

The page's socket carries the signed-in session's cookie (the same host: the browser sends
it on the upgrade); the gateway resolves it on the server and checks the scope against the
user's jurisdiction and active grants with the one access rule (`incidents.access`). The
gateway never trusts a scope a client merely asks for. Outside subscribers still present a
screen token (`realtime.screens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie

import asyncpg

from incidents.access import Action, Principal, decide, in_scope
from incidents.store import accounts
from incidents.store.case_store import Conn
from incidents.store.terminal_credentials import live_terminal_digests


class ScreenRefused(Exception):
    """A subscription the caller may not have; the message is the reason sent back."""


@dataclass(frozen=True, slots=True)
class ScreenIdentity:
    """The session behind a socket and the principal the access rule judges."""

    session_id: str
    principal: Principal


def session_token(cookie_header: str | None, name: str = accounts.SESSION_COOKIE) -> str | None:
    """The token in a Cookie header's cookie `name` (the session's by default), if any."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


async def _session(conn: Conn, cookie_header: str | None, now: datetime) -> accounts.Session | None:
    """The live session a socket's cookies stand for: a person's, else a wall screen's."""
    token = session_token(cookie_header)
    if token is not None:
        session = await accounts.session_of(conn, token, now)
        if session is not None:
            return session
    display_token = session_token(cookie_header, accounts.DISPLAY_COOKIE)
    if display_token is not None:
        display = await accounts.display_of(conn, display_token, now)
        if display is not None:
            return accounts.display_session(display, None, now)
    return None


def may_watch(principal: Principal, scope: str, now: datetime) -> str | None:
    """Why `principal` may not watch the live feed of `scope` (None: it may)."""
    allowed = decide(principal, Action.VIEW_CASES, None, now)
    if not allowed.allowed:
        return allowed.reason
    grants = [g for g in principal.grants if g.is_active(now)]
    if in_scope(scope, principal.jurisdiction) or any(in_scope(scope, g.scope) for g in grants):
        return None
    return f"scope {scope} is outside your jurisdiction"


async def identify(
    pool: asyncpg.Pool, cookie_header: str | None, scope: str, now: datetime
) -> ScreenIdentity:
    """The identity of a screen asking for `scope`; raise ScreenRefused saying why not."""
    if session_token(cookie_header) is None and (
        session_token(cookie_header, accounts.DISPLAY_COOKIE) is None
    ):
        raise ScreenRefused("sign in first: this gateway serves signed-in screens only")
    async with pool.acquire() as conn:
        session = await _session(conn, cookie_header, now)
        if session is None:
            raise ScreenRefused("your session has ended: sign in again")
        principal = await accounts.principal_of(conn, session, now)
    if principal is None:
        raise ScreenRefused(f"unknown role {session.role!r}")
    why = may_watch(principal, scope, now)
    if why is not None:
        raise ScreenRefused(why)
    return ScreenIdentity(session.id, principal)


_TERMINAL = "terminal:"


def terminal_session_key(token: str) -> str:
    """How a terminal's socket is checked with the sessions: by its credential's digest."""
    return _TERMINAL + accounts.token_digest(token)


async def ended_sessions(pool: asyncpg.Pool, session_ids: set[str], now: datetime) -> set[str]:
    """Which of these sessions are no longer live (revoked, expired, user disabled, rotated)."""
    if not session_ids:
        return set()
    digests = sorted(s.removeprefix(_TERMINAL) for s in session_ids if s.startswith(_TERMINAL))
    others = sorted(s for s in session_ids if not s.startswith(_TERMINAL))
    async with pool.acquire() as conn:
        live = await accounts.live_session_ids(conn, others, now)
        live |= {_TERMINAL + d for d in await live_terminal_digests(conn, digests)}
    return session_ids - live
