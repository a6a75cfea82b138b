"""The auditor's page: the append-only audit trail, filtered, newest first (server-rendered).

Only a role the access rule lets view the audit may open it; anyone else is refused, and the
refusal is itself audited. Every value is escaped: details and names are untrusted text.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta, timezone
from typing import cast, get_args

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from dashboard.i18n import pick_lang, text
from dashboard.sign_in import PoolOf, session_of_request
from incidents.access import Action, Principal, Role, decide
from incidents.store.accounts import AuditEntry, AuditOutcome, audit_entries, record_audit

_CST = timezone(timedelta(hours=8))
PAGE_SIZE = 200


def _outcome(value: str) -> AuditOutcome | None:
    """The outcome filter, if it names one; any other text filters nothing."""
    if value in get_args(AuditOutcome):
        return cast(AuditOutcome, value)
    return None


def _local(moment: datetime) -> str:
    return moment.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S")


def audit_table(lang: str, entries: list[AuditEntry]) -> str:
    """The entries as an HTML table (every cell escaped)."""
    heads = ["audit_at", "audit_user", "audit_role", "audit_address", "audit_action",
             "audit_outcome", "audit_case", "audit_detail"]  # fmt: skip
    head = "".join(f"<th>{html.escape(text(lang, h))}</th>" for h in heads)
    rows = []
    for e in entries:
        cells = [
            _local(e.at),
            e.user_id or "",
            e.role or "",
            e.source_address or "",
            e.action,
            e.outcome,
            "" if e.case_id is None else str(e.case_id),
            e.detail or "",
        ]
        rows.append(
            f'<tr class="outcome-{html.escape(e.outcome)}">'
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + "</tr>"
        )
    if not rows:
        rows.append(f'<tr><td colspan="8">{html.escape(text(lang, "audit_empty"))}</td></tr>')
    return (
        f'<table class="audit"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _filters(lang: str, values: dict[str, str]) -> str:
    def field(name: str, label: str) -> str:
        value = html.escape(values.get(name, ""))
        return (
            f'<label>{html.escape(text(lang, label))}<input name="{name}" value="{value}"></label>'
        )

    return (
        f'<form class="audit-filters" method="get" action="/audit">'
        f'<input type="hidden" name="lang" value="{lang}">'
        + field("user", "audit_user")
        + field("action", "audit_action")
        + field("outcome", "audit_outcome")
        + field("case", "audit_case")
        + f'<button type="submit">{html.escape(text(lang, "audit_filter"))}</button></form>'
    )


def add_audit_routes(server: FastAPI, pool_of: PoolOf) -> None:
    """GET /audit on the command centre's server."""

    @server.get("/audit")
    async def audit(request: Request) -> Response:
        lang = pick_lang(request.query_params.get("lang"))
        session = session_of_request(request)
        if session is None:
            return PlainTextResponse("sign in first", 401)
        now = datetime.now(UTC)
        try:
            role = Role(session.role)
        except ValueError:
            return PlainTextResponse("unknown role", 403)
        principal = Principal(session.username, role, session.jurisdiction)
        decision = decide(principal, Action.VIEW_AUDIT, None, now)
        address = request.client.host if request.client else None
        pool = await pool_of()
        async with pool.acquire() as conn:
            if not decision.allowed:
                await record_audit(
                    conn,
                    at=now,
                    user_id=session.username,
                    role=session.role,
                    source_address=address,
                    action="audit.view",
                    outcome="refused",
                    detail=decision.reason,
                )
                return PlainTextResponse(decision.reason, 403)
            params = {
                k: request.query_params.get(k, "").strip()
                for k in ("user", "action", "outcome", "case")
            }
            case = params["case"]
            entries = await audit_entries(
                conn,
                user_id=params["user"] or None,
                action=params["action"] or None,
                outcome=_outcome(params["outcome"]),
                case_id=int(case) if case.isdigit() else None,
                limit=PAGE_SIZE,
            )
        other = "en" if lang == "zh-CN" else "zh-CN"
        body = (
            f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{html.escape(text(lang, 'audit_title'))}</title>"
            '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-400.css">'
            '<link rel="stylesheet" href="/assets/style.css"></head><body class="audit-page">'
            f'<header class="topbar"><div class="brand"><span class="product">'
            f"{html.escape(text(lang, 'product'))}</span>"
            f"<span>{html.escape(text(lang, 'audit_title'))}</span></div>"
            f'<span class="user">{html.escape(session.username)}</span>'
            f'<a class="lang" href="?lang={other}">{html.escape(text(lang, "switch_lang"))}</a>'
            f"</header><main>{_filters(lang, params)}{audit_table(lang, entries)}</main>"
            "</body></html>"
        )
        return HTMLResponse(body)
