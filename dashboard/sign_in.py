"""Signing in and out: the login and password pages, and the gate every other request passes.

Server-rendered (no script at all), zh-CN by default with an English switch. A session is a
random token in an HttpOnly, SameSite=Strict cookie; the server keeps only its hash
(`incidents.store.accounts`) and ends it after inactivity, at its absolute expiry, on logout
or when the account is disabled. Until a one-time password is changed, only the password
page is served. Forms repeat the CSRF cookie in a hidden field (a form cannot send the
header the Dash renderer sends), checked here.
"""

from __future__ import annotations

import hmac
import html
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from dashboard.http_guard import CSRF_COOKIE, cookie_in
from dashboard.i18n import pick_lang, text
from incidents.store.accounts import (
    DISPLAY_COOKIE,
    SESSION_COOKIE,
    PasswordRejected,
    Session,
    authenticate,
    display_of,
    display_session,
    get_user,
    open_session,
    record_audit,
    reset_password,
    revoke_session,
    session_of,
    sign_in_display,
)

SCOPE_KEY = "pingan.session"  # where the gate leaves the resolved session for the handlers
PoolOf = Callable[[], Awaitable[Any]]  # the store's connection pool
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

# Served without a session: the sign-in pages, the probes (counts only, never personal data:
# monitoring scrapes them; keep them to the centre's network), and files that hold no data.
PUBLIC_PATHS = frozenset(
    {"/login", "/display", "/healthz", "/metrics", "/_favicon.ico", "/favicon.ico"}
)
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
# With a one-time password, only these (to change it, or to leave).
PASSWORD_PATHS = frozenset({"/password", "/logout"})


def _scope_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


async def session_for(
    conn: Any, token: str | None, display_token: str | None, address: str | None, now: datetime
) -> Session | None:
    """The session behind a request's cookies: a person's, else a wall screen's token."""
    if token:
        session = await session_of(conn, token, now)
        if session is not None:
            return session
    if display_token:
        display = await display_of(conn, display_token, now)
        if display is not None:
            return display_session(display, address, now)
    return None


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class SessionGate:
    """ASGI middleware: resolves the session cookie; no session, no page and no callback."""

    def __init__(self, app: ASGIApp, pool_of: PoolOf) -> None:
        self._app = app
        self._pool_of = pool_of

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope.get("path", "")
        # Its own scope key: Starlette keeps `state` for lifespan data, and adding to it here
        # stopped Dash's renderer from loading the layout.
        scope[SCOPE_KEY] = None
        if _is_public(path):  # assets and probes: no store lookup on every file
            await self._app(scope, receive, send)
            return
        token = cookie_in(scope, SESSION_COOKIE)
        display_token = cookie_in(scope, DISPLAY_COOKIE)
        session = None
        if token or display_token:
            pool = await self._pool_of()
            now = datetime.now(UTC)
            async with pool.acquire() as conn:
                session = await session_for(conn, token, display_token, _scope_address(scope), now)
        scope[SCOPE_KEY] = session
        if session is None:
            if path.startswith("/_dash-") or scope.get("method") != "GET":
                response: Response = PlainTextResponse("sign in first", status_code=401)
            else:
                # A wall whose token was revoked goes back to the token form, not to a login.
                form = "/display" if display_token else "/login"
                response = RedirectResponse(form, status_code=303)
            await response(scope, receive, send)
            return
        if session.must_change_password and path not in PASSWORD_PATHS:
            target: Response = RedirectResponse("/password", status_code=303)
            if path.startswith("/_dash-"):
                target = PlainTextResponse("change your one-time password first", 403)
            await target(scope, receive, send)
            return
        if path == "/" and session.role == "wall_screen":
            # A wall screen has one page: the wall (its query, e.g. the language, kept).
            query = scope.get("query_string", b"").decode("latin-1")
            wall: Response = RedirectResponse("/wall" + (f"?{query}" if query else ""), 303)
            await wall(scope, receive, send)
            return
        await self._app(scope, receive, send)


def session_of_request(request: Request) -> Session | None:
    """The session the gate resolved for this request (None on public paths when absent)."""
    session: Session | None = request.scope.get(SCOPE_KEY)
    return session


def callback_request(app: Any) -> tuple[Session | None, Any]:
    """The session the gate found for the Dash callback being handled, and its raw request."""
    # Dash's adapter wraps the Starlette request; the gate left the session in its scope.
    raw = getattr(app.backend.request_adapter(), "_request", None)
    session: Session | None = raw.scope.get(SCOPE_KEY) if raw is not None else None
    return session, raw


@dataclass(frozen=True, slots=True)
class Form:
    """A posted form's fields (the first value of each)."""

    fields: dict[str, str]

    def get(self, name: str) -> str:
        """A field's value, empty when absent."""
        return self.fields.get(name, "")


async def read_form(request: Request) -> Form:
    """The urlencoded form a request posted."""
    body = (await request.body()).decode("utf-8", "replace")
    return Form({k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()})


def csrf_for(request: Request) -> tuple[str, bool]:
    """The CSRF token of this browser, and whether it must be set (first visit)."""
    token = request.cookies.get(CSRF_COOKIE)
    if token:
        return token, False
    return secrets.token_urlsafe(32), True


def csrf_ok(request: Request, form: Form) -> bool:
    """Whether the form repeats this browser's CSRF cookie."""
    kept = request.cookies.get(CSRF_COOKIE) or ""
    sent = form.get("csrf")
    return bool(kept) and bool(sent) and hmac.compare_digest(kept, sent)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _page(lang: str, title: str, body: str) -> str:
    other = "en" if lang == "zh-CN" else "zh-CN"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-400.css">'
        '<link rel="stylesheet" href="/assets/style.css"></head>'
        f'<body class="sign-in"><main class="sign-in-card"><h1>{html.escape(text(lang, "product"))}'
        f"</h1><h2>{html.escape(title)}</h2>{body}"
        f'<p class="lang"><a href="?lang={other}">{html.escape(text(lang, "switch_lang"))}</a>'
        "</p></main></body></html>"
    )


def _field(name: str, label: str, kind: str, value: str = "") -> str:
    return (
        f'<label for="{name}">{html.escape(label)}</label>'
        f'<input id="{name}" name="{name}" type="{kind}" value="{html.escape(value)}"'
        f' autocomplete="{"current-password" if kind == "password" else "username"}" required>'
    )


def login_page(lang: str, csrf: str, error: str = "", username: str = "") -> str:
    """The sign-in form in one language (untrusted values escaped)."""
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = (
        f'<form method="post" action="/login?lang={lang}">{problem}'
        + _field("username", text(lang, "username"), "text", username)
        + _field("password", text(lang, "password"), "password")
        + f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        + f'<button type="submit">{html.escape(text(lang, "sign_in"))}</button></form>'
    )
    return _page(lang, text(lang, "sign_in_title"), body)


def display_page(lang: str, csrf: str, error: str = "") -> str:
    """The form where a wall screen enters its display token once."""
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = (
        f"<p>{html.escape(text(lang, 'display_intro'))}</p>"
        f'<form method="post" action="/display?lang={lang}">{problem}'
        + _field("token", text(lang, "display_token"), "password")
        + f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        + f'<button type="submit">{html.escape(text(lang, "display_sign_in"))}</button></form>'
    )
    return _page(lang, text(lang, "display_title"), body)


# Browsers keep a cookie at most 400 days; a wall enters its token again after that.
_DISPLAY_COOKIE_SECONDS = 400 * 86_400


def password_page(lang: str, csrf: str, problems: list[str] | None = None) -> str:
    """The page that replaces a one-time password (the rules' problems listed)."""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems or [])
    errors = f'<ul class="error" role="alert">{items}</ul>' if items else ""
    body = (
        f"<p>{html.escape(text(lang, 'password_change_intro'))}</p>"
        f'<form method="post" action="/password?lang={lang}">{errors}'
        + _field("new_password", text(lang, "new_password"), "password")
        + _field("repeat", text(lang, "repeat_password"), "password")
        + f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        + f'<button type="submit">{html.escape(text(lang, "save_password"))}</button></form>'
    )
    return _page(lang, text(lang, "password_change_title"), body)


def with_csrf(response: Response, token: str, fresh: bool, secure: bool) -> Response:
    """The response, setting the CSRF cookie if this browser had none."""
    if fresh:
        response.set_cookie(CSRF_COOKIE, token, samesite="strict", secure=secure, path="/")
    return response


def add_sign_in_routes(server: FastAPI, pool_of: PoolOf) -> None:
    """GET/POST /login, POST /logout, GET/POST /password on the command centre's server."""

    def lang_of(request: Request) -> str:
        return pick_lang(request.query_params.get("lang"))

    @server.get("/login")
    async def login_form(request: Request) -> Response:
        token, fresh = csrf_for(request)
        page = HTMLResponse(login_page(lang_of(request), token))
        return with_csrf(page, token, fresh, request.url.scheme == "https")

    @server.post("/login")
    async def login(request: Request) -> Response:
        lang = lang_of(request)
        form = await read_form(request)
        token, fresh = csrf_for(request)
        if not csrf_ok(request, form):
            page = HTMLResponse(login_page(lang, token, text(lang, "form_expired")), 403)
            return with_csrf(page, token, fresh, request.url.scheme == "https")
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            result = await authenticate(
                conn, form.get("username"), form.get("password"), _address(request), now
            )
            if not result.ok or result.user is None:
                if result.reason == "locked":
                    error = text(lang, "locked").replace(
                        "{seconds}", str(result.retry_after_seconds or 60)
                    )
                else:
                    error = text(lang, "bad_credentials")
                page = HTMLResponse(login_page(lang, token, error, form.get("username")), 401)
                return with_csrf(page, token, fresh, request.url.scheme == "https")
            session_token, session = await open_session(
                conn, result.user, "user", _address(request), now
            )
        target = "/password" if session.must_change_password else "/"
        response = RedirectResponse(f"{target}?lang={lang}", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @server.get("/display")
    async def display_form(request: Request) -> Response:
        token, fresh = csrf_for(request)
        page = HTMLResponse(display_page(lang_of(request), token))
        return with_csrf(page, token, fresh, request.url.scheme == "https")

    @server.post("/display")
    async def display_sign_in(request: Request) -> Response:
        lang = lang_of(request)
        form = await read_form(request)
        token, fresh = csrf_for(request)
        secure = request.url.scheme == "https"
        if not csrf_ok(request, form):
            page = HTMLResponse(display_page(lang, token, text(lang, "form_expired")), 403)
            return with_csrf(page, token, fresh, secure)
        pool = await pool_of()
        async with pool.acquire() as conn:
            result = await sign_in_display(
                conn, form.get("token"), _address(request), datetime.now(UTC)
            )
        if result.display is None:
            if result.reason == "locked":
                seconds = str(result.retry_after_seconds or 60)
                error = text(lang, "display_locked").replace("{seconds}", seconds)
            else:
                error = text(lang, "display_bad")
            return with_csrf(
                HTMLResponse(display_page(lang, token, error), 401), token, fresh, secure
            )
        response = RedirectResponse(f"/wall?lang={lang}", status_code=303)
        response.set_cookie(
            DISPLAY_COOKIE,
            form.get("token").strip(),
            max_age=_DISPLAY_COOKIE_SECONDS,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )
        return response

    @server.post("/logout")
    async def logout(request: Request) -> Response:
        form = await read_form(request)
        session = session_of_request(request)
        if not csrf_ok(request, form):
            return PlainTextResponse("missing or wrong CSRF token", 403)
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            pool = await pool_of()
            now = datetime.now(UTC)
            async with pool.acquire() as conn:
                await revoke_session(conn, token, now)
                if session is not None:
                    await record_audit(
                        conn,
                        at=now,
                        user_id=session.username,
                        role=session.role,
                        source_address=_address(request),
                        action="logout",
                        outcome="allowed",
                    )
        response = RedirectResponse(f"/login?lang={lang_of(request)}", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        # A wall screen leaving forgets its token here; an administrator revokes it for good.
        response.delete_cookie(DISPLAY_COOKIE, path="/")
        return response

    @server.get("/password")
    async def password_form(request: Request) -> Response:
        token, fresh = csrf_for(request)
        page = HTMLResponse(password_page(lang_of(request), token))
        return with_csrf(page, token, fresh, request.url.scheme == "https")

    @server.post("/password")
    async def change_password(request: Request) -> Response:
        lang = lang_of(request)
        session = session_of_request(request)
        form = await read_form(request)
        token, _ = csrf_for(request)
        if session is None or not csrf_ok(request, form):
            return PlainTextResponse("missing or wrong CSRF token", 403)
        new, repeat = form.get("new_password"), form.get("repeat")
        if new != repeat:
            return HTMLResponse(password_page(lang, token, [text(lang, "passwords_differ")]), 400)
        now = datetime.now(UTC)
        pool = await pool_of()
        async with pool.acquire() as conn:
            user = await get_user(conn, session.username)
            if user is None:
                return PlainTextResponse("no such user", 403)
            try:
                await reset_password(conn, user.username, new, now, must_change=False)
            except PasswordRejected as rejected:
                return HTMLResponse(password_page(lang, token, rejected.problems), 400)
            await record_audit(
                conn,
                at=now,
                user_id=user.username,
                role=user.role,
                source_address=_address(request),
                action="user.password_changed",
                outcome="allowed",
            )
        return RedirectResponse(f"/?lang={lang}", status_code=303)
