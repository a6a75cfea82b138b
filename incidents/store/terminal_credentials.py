"""Field terminals' credentials: issued once per terminal, bound to one unit, revocable.

A terminal token is a 256-bit random secret shown once; only its SHA-256 is stored (as for
sessions and display tokens: argon2 protects secrets people choose, and a random token cannot
be guessed, while a slow hash on every reconnect would let a reconnect storm exhaust the CPU).
Failed hellos count against the terminal and the source address with the same lock-out and
back-off as passwords, and every hello is in the audit trail.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec

from incidents.store import lockout
from incidents.store.accounts import AccountError, record_audit, token_digest
from incidents.store.case_store import Conn
from incidents.store.lockout import DEFAULT_LOCKOUT, LockoutRules

TERMINAL_ID: Final = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
TerminalReason = Literal["ok", "bad_credentials", "locked", "revoked"]


class TerminalLogin(msgspec.Struct, frozen=True):
    """What a terminal's hello came to; `unit_id` is set only when it is accepted."""

    ok: bool
    unit_id: str | None
    reason: TerminalReason
    retry_after_seconds: int | None = None


class TerminalCredential(msgspec.Struct, frozen=True):
    """A terminal as the administrator sees it (never its token)."""

    terminal_id: str
    unit_id: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


async def issue_terminal(
    conn: Conn, terminal_id: str, unit_id: str, created_by: str, now: datetime
) -> str:
    """A new token for a terminal (replacing any earlier one): show it once."""
    if not TERMINAL_ID.fullmatch(terminal_id):
        raise AccountError("a terminal id is 1-64 letters, digits or . _ : -")
    if not unit_id.strip() or not created_by.strip():
        raise AccountError("a terminal needs its unit and who issued it")
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO terminal_credentials"
        " (terminal_id, unit_id, token_digest, created_by, created_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (terminal_id) DO UPDATE SET"
        " unit_id = EXCLUDED.unit_id, token_digest = EXCLUDED.token_digest,"
        " created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at, revoked_at = NULL",
        terminal_id,
        unit_id.strip(),
        token_digest(token),
        created_by.strip(),
        now,
    )
    await record_audit(
        conn,
        at=now,
        user_id=created_by.strip(),
        role=None,
        source_address=None,
        action="terminal.issued",
        outcome="allowed",
        detail=f"terminal {terminal_id} for unit {unit_id.strip()}",
    )
    return token


async def revoke_terminal(conn: Conn, terminal_id: str, by: str, now: datetime) -> bool:
    """Withdraw a terminal's credential; False if it had none live."""
    status = await conn.execute(
        "UPDATE terminal_credentials SET revoked_at = $2"
        " WHERE terminal_id = $1 AND revoked_at IS NULL",
        terminal_id,
        now,
    )
    done = status == "UPDATE 1"
    await record_audit(
        conn,
        at=now,
        user_id=by,
        role=None,
        source_address=None,
        action="terminal.revoked",
        outcome="allowed" if done else "failed",
        detail=f"terminal {terminal_id}" + ("" if done else ": no live credential"),
    )
    return done


async def terminal_credentials(conn: Conn) -> list[TerminalCredential]:
    """Every terminal, live or revoked, by id."""
    rows = await conn.fetch(
        "SELECT terminal_id, unit_id, created_by, created_at, revoked_at"
        " FROM terminal_credentials ORDER BY terminal_id"
    )
    return [TerminalCredential(**dict(row)) for row in rows]


async def live_terminal_digests(conn: Conn, digests: Sequence[str]) -> set[str]:
    """Which of these token digests still open a terminal (not revoked, not rotated away)."""
    if not digests:
        return set()
    rows = await conn.fetch(
        "SELECT token_digest FROM terminal_credentials"
        " WHERE token_digest = ANY($1::text[]) AND revoked_at IS NULL",
        list(digests),
    )
    return {row["token_digest"] for row in rows}


async def authenticate_terminal(
    conn: Conn,
    terminal_id: str,
    token: str,
    source_address: str | None,
    now: datetime,
    rules: LockoutRules = DEFAULT_LOCKOUT,
) -> TerminalLogin:
    """Check a terminal's hello against its credential and the lock-outs; audit it."""
    async with conn.transaction():
        # The key names the terminal only if it exists: a scan of made-up ids makes no rows.
        row = await conn.fetchrow(
            "SELECT unit_id, token_digest, revoked_at FROM terminal_credentials"
            " WHERE terminal_id = $1",
            terminal_id,
        )
        limits = {("terminal:" + terminal_id if row else "terminal:?"): rules.max_failures}
        if source_address:
            limits[lockout.address_key(source_address)] = rules.max_address_failures
        attempt = await lockout.gate(conn, limits, now, rules)
        unit = None if row is None else row["unit_id"]

        async def audit(outcome: Literal["allowed", "refused", "failed"], detail: str) -> None:
            await record_audit(
                conn,
                at=now,
                user_id=f"terminal:{terminal_id}" if row else None,
                role="field_unit",
                source_address=source_address,
                action="terminal.hello",
                outcome=outcome,
                detail=detail,
            )

        waits = attempt.locked()
        if waits:
            await audit("refused", f"locked ({attempt.locked_words()})")
            return TerminalLogin(False, None, "locked", max(waits.values()))
        matches = row is not None and hmac.compare_digest(row["token_digest"], token_digest(token))
        if not matches:
            started = await attempt.fail()
            detail = "wrong token" if row else "unknown terminal"
            await audit("failed", "; ".join([detail, *lockout.started_words(started)]))
            return TerminalLogin(False, None, "bad_credentials", max(started.values()) or None)
        assert row is not None
        if row["revoked_at"] is not None:
            await audit("refused", "credential revoked")
            return TerminalLogin(False, None, "revoked")
        await attempt.clear("terminal:" + terminal_id)
        await audit("allowed", f"unit {unit}")
        return TerminalLogin(True, unit, "ok")
