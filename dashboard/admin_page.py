"""The administrator's page: accounts, one-time passwords, sessions (server-rendered forms).

Only a role the access rule lets manage users may open it or post to it; anyone else is
refused and the refusal audited. A new or reset account's one-time password is shown once,
on the page that made it; every change goes through `incidents.store.user_admin`, audited.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from dashboard.admin_credentials import VERBS, apply_credential, displays_section, terminals_section
from dashboard.i18n import pick_lang, role_name, text
from dashboard.sign_in import (
    Form,
    PoolOf,
    csrf_for,
    csrf_ok,
    read_form,
    session_of_request,
    with_csrf,
)
from incidents.access import Action, Principal, Role, decide
from incidents.store import accounts, terminal_credentials, user_admin
from incidents.store.case_store import Conn


def _head(lang: str, title: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-400.css">'
        '<link rel="stylesheet" href="/assets/style.css"></head><body class="audit-page">'
    )


def users_table(lang: str, users: list[accounts.User], csrf: str) -> str:
    """Every account with its actions (each a form carrying the CSRF token)."""
    rows = []
    for user in users:
        state = text(lang, "admin_disabled") if user.disabled else text(lang, "admin_active")
        actions = "".join(
            f'<form method="post" action="/admin?lang={lang}" class="inline">'
            f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
            f'<input type="hidden" name="username" value="{html.escape(user.username)}">'
            f'<button name="do" value="{verb}">{html.escape(text(lang, label))}</button></form>'
            for verb, label in (
                ("reset", "admin_reset"),
                ("revoke", "admin_revoke"),
                ("disable", "admin_disable"),
            )
        )
        cells = [
            user.username,
            user.display_name,
            role_name(lang, user.role),
            user.jurisdiction,
            state,
        ]
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + f"<td>{actions}</td></tr>"
        )
    heads = (
        "admin_username",
        "admin_name",
        "audit_role",
        "admin_jurisdiction",
        "admin_state",
        "admin_actions",
    )
    head = "".join(f"<th>{html.escape(text(lang, h))}</th>" for h in heads)
    return (
        f'<table class="audit"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def create_form(lang: str, csrf: str) -> str:
    """The form that makes a new account (its one-time password shown once after)."""
    options = "".join(
        f'<option value="{r.value}">{html.escape(role_name(lang, r.value))}</option>'
        for r in Role
        if r is not Role.FIELD_UNIT
    )

    def field(name: str, label: str) -> str:
        return f'<label>{html.escape(text(lang, label))}<input name="{name}" required></label>'

    return (
        f'<form class="audit-filters" method="post" action="/admin?lang={lang}">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        '<input type="hidden" name="do" value="create">'
        + field("username", "admin_username")
        + field("display_name", "admin_name")
        + f"<label>{html.escape(text(lang, 'audit_role'))}"
        + f'<select name="role">{options}</select></label>'
        + field("jurisdiction", "admin_jurisdiction")
        + f'<button type="submit">{html.escape(text(lang, "admin_create"))}</button></form>'
    )


def add_admin_routes(server: FastAPI, pool_of: PoolOf) -> None:
    """GET and POST /admin on the command centre's server."""

    async def allowed(request: Request) -> tuple[accounts.Session | None, str | None]:
        session = session_of_request(request)
        if session is None:
            return None, "sign in first"
        try:
            principal = Principal(session.username, Role(session.role), session.jurisdiction)
        except ValueError:
            return session, "unknown role"
        decision = decide(principal, Action.MANAGE_USERS, None, datetime.now(UTC))
        return session, None if decision.allowed else decision.reason

    async def refuse(request: Request, session: accounts.Session | None, why: str) -> Response:
        pool = await pool_of()
        async with pool.acquire() as conn:
            await accounts.record_audit(
                conn,
                at=datetime.now(UTC),
                user_id=session.username if session else None,
                role=session.role if session else None,
                source_address=request.client.host if request.client else None,
                action="admin.open",
                outcome="refused",
                detail=why,
            )
        return PlainTextResponse(why, 401 if session is None else 403)

    async def render(request: Request, lang: str, notice: str = "") -> Response:
        csrf, fresh = csrf_for(request)
        pool = await pool_of()
        async with pool.acquire() as conn:
            users = list(await user_admin.list_users(conn))
            displays = await user_admin.list_displays(conn)
            terminals = await terminal_credentials.terminal_credentials(conn)
        banner = f'<p class="notice" role="status">{html.escape(notice)}</p>' if notice else ""
        other = "en" if lang == "zh-CN" else "zh-CN"
        body = (
            _head(lang, text(lang, "admin_title"))
            + f'<header class="topbar"><div class="brand"><span class="product">'
            f"{html.escape(text(lang, 'product'))}</span>"
            f"<span>{html.escape(text(lang, 'admin_title'))}</span></div>"
            f'<a class="lang" href="?lang={other}">{html.escape(text(lang, "switch_lang"))}</a>'
            f"</header><main>{banner}{create_form(lang, csrf)}{users_table(lang, users, csrf)}"
            f"{displays_section(lang, csrf, displays)}{terminals_section(lang, csrf, terminals)}"
            "</main></body></html>"
        )
        return with_csrf(HTMLResponse(body), csrf, fresh, request.url.scheme == "https")

    @server.get("/admin")
    async def admin(request: Request) -> Response:
        session, why = await allowed(request)
        if why is not None:
            return await refuse(request, session, why)
        return await render(request, pick_lang(request.query_params.get("lang")))

    @server.post("/admin")
    async def admin_change(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session, why = await allowed(request)
        if why is not None:
            return await refuse(request, session, why)
        assert session is not None
        form = await read_form(request)
        if not csrf_ok(request, form):
            return PlainTextResponse("missing or wrong CSRF token", 403)
        actor, now, username = session.username, datetime.now(UTC), form.get("username")
        pool = await pool_of()
        async with pool.acquire() as conn:
            try:
                verb = form.get("do")
                if verb in VERBS:
                    notice = await apply_credential(conn, verb, form, now, actor, lang)
                else:
                    notice = await _apply(conn, verb, form, username, now, actor, lang)
            except (accounts.AccountError, ValueError) as error:
                notice = str(error)
        return await render(request, lang, notice)


async def _apply(
    conn: Conn,
    verb: str,
    form: Form,
    username: str,
    now: datetime,
    actor: str,
    lang: str,
) -> str:
    """Carry out one administrator's action; the words to show for it."""
    get = form.get
    if verb == "create":
        user, password = await user_admin.add_user(
            conn, username, get("display_name"), Role(get("role")), get("jurisdiction"), now, actor
        )
        return text(lang, "admin_created").format(user=user.username, password=password)
    if verb == "reset":
        one_time = await user_admin.reset_to_one_time_password(conn, username, now, actor)
        if one_time is None:
            return text(lang, "admin_unknown")
        return text(lang, "admin_created").format(user=username, password=one_time)
    if verb == "revoke":
        ended = await user_admin.revoke_sessions_of(conn, username, now, actor)
        return text(lang, "admin_unknown") if ended is None else f"{username}: {ended}"
    if verb == "disable":
        done = await accounts.disable_user(conn, username, now)
        if done:
            await accounts.record_audit(
                conn,
                at=now,
                user_id=actor,
                role="administrator",
                source_address=None,
                action="user.disabled",
                outcome="allowed",
                detail=username,
            )
        return text(lang, "admin_done") if done else text(lang, "admin_unknown")
    return text(lang, "admin_unknown")
