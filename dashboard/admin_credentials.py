"""The administrator's page, part two: wall-screen and field-terminal tokens (shown once)."""

from __future__ import annotations

import html
from datetime import datetime

from dashboard.i18n import text
from dashboard.sign_in import Form
from incidents.store import terminal_credentials, user_admin
from incidents.store.case_store import Conn

VERBS = frozenset({"display_create", "display_revoke", "terminal_issue", "terminal_revoke"})


def _hidden(csrf: str, verb: str) -> str:
    return (
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        f'<input type="hidden" name="do" value="{verb}">'
    )


def _field(lang: str, name: str, label: str) -> str:
    return f'<label>{html.escape(text(lang, label))}<input name="{name}" required></label>'


def _table(lang: str, heads: tuple[str, ...], rows: list[tuple[list[str], str]]) -> str:
    head = "".join(f"<th>{html.escape(text(lang, h))}</th>" for h in heads)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{action}</td></tr>"
        for cells, action in rows
    )
    return f'<table class="audit"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _revoke_button(lang: str, csrf: str, verb: str, name: str, value: str) -> str:
    return (
        f'<form method="post" action="/admin?lang={lang}" class="inline">{_hidden(csrf, verb)}'
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        f'<button type="submit">{html.escape(text(lang, "admin_withdraw"))}</button></form>'
    )


def displays_section(lang: str, csrf: str, displays: list[user_admin.DisplayRow]) -> str:
    """Wall screens: issue a token for one jurisdiction, see and revoke the live ones."""
    form = (
        f'<form class="audit-filters" method="post" action="/admin?lang={lang}">'
        + _hidden(csrf, "display_create")
        + _field(lang, "label", "admin_display_label")
        + _field(lang, "jurisdiction", "admin_jurisdiction")
        + f'<button type="submit">{html.escape(text(lang, "admin_display_create"))}</button></form>'
    )
    rows = []
    for row in displays:
        live = row.revoked_at is None
        state = text(lang, "admin_active") if live else text(lang, "admin_withdrawn")
        action = _revoke_button(lang, csrf, "display_revoke", "id", row.id) if live else ""
        rows.append(([row.label, row.jurisdiction, row.id[:12], state], action))
    heads = (
        "admin_display_label",
        "admin_jurisdiction",
        "admin_id",
        "admin_state",
        "admin_actions",
    )
    title = html.escape(text(lang, "admin_displays"))
    return f"<section><h2>{title}</h2>{form}{_table(lang, heads, rows)}</section>"


def terminals_section(
    lang: str, csrf: str, terminals: list[terminal_credentials.TerminalCredential]
) -> str:
    """Field terminals: issue a token bound to one unit, see and revoke them."""
    form = (
        f'<form class="audit-filters" method="post" action="/admin?lang={lang}">'
        + _hidden(csrf, "terminal_issue")
        + _field(lang, "terminal_id", "admin_terminal")
        + _field(lang, "unit_id", "admin_unit")
        + f'<button type="submit">{html.escape(text(lang, "admin_terminal_issue"))}</button></form>'
    )
    rows = []
    for item in terminals:
        live = item.revoked_at is None
        state = text(lang, "admin_active") if live else text(lang, "admin_withdrawn")
        action = (
            _revoke_button(lang, csrf, "terminal_revoke", "terminal_id", item.terminal_id)
            if live
            else ""
        )
        rows.append(([item.terminal_id, item.unit_id, state], action))
    heads = ("admin_terminal", "admin_unit", "admin_state", "admin_actions")
    title = html.escape(text(lang, "admin_terminals"))
    return f"<section><h2>{title}</h2>{form}{_table(lang, heads, rows)}</section>"


async def apply_credential(
    conn: Conn, verb: str, form: Form, now: datetime, actor: str, lang: str
) -> str:
    """Carry out one token action; the words to show (a new token is shown only here)."""
    if verb == "display_create":
        label = form.get("label")
        token = await user_admin.issue_display(conn, label, form.get("jurisdiction"), now, actor)
        return text(lang, "admin_token_once").format(who=label, token=token)
    if verb == "display_revoke":
        done = await user_admin.withdraw_display(conn, form.get("id"), now, actor)
        return text(lang, "admin_done") if done else text(lang, "admin_unknown")
    if verb == "terminal_issue":
        terminal = form.get("terminal_id")
        token = await terminal_credentials.issue_terminal(
            conn, terminal, form.get("unit_id"), actor, now
        )
        return text(lang, "admin_token_once").format(who=terminal, token=token)
    done = await terminal_credentials.revoke_terminal(conn, form.get("terminal_id"), actor, now)
    return text(lang, "admin_done") if done else text(lang, "admin_unknown")
