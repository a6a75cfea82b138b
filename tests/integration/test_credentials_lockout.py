"""Terminal and display credentials on real PostgreSQL: issued once, revocable, locked out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from incidents.store.accounts import (
    audit_entries,
    create_display_token,
    revoke_display_token,
    sign_in_display,
    token_digest,
)
from incidents.store.lockout import LockoutRules
from incidents.store.terminal_credentials import (
    authenticate_terminal,
    issue_terminal,
    revoke_terminal,
    terminal_credentials,
)

pytestmark = pytest.mark.integration

COUNTY = "320118000000"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A moment this many seconds after NOW."""
    return NOW + timedelta(seconds=seconds)


async def test_a_terminal_token_is_shown_once_and_only_its_digest_is_kept(
    pool: asyncpg.Pool,
) -> None:
    """The token opens the terminal as its unit; the table holds its SHA-256, never the token."""
    async with pool.acquire() as conn:
        token = await issue_terminal(conn, "pda-07", "patrol-07", "admin", NOW)
        login = await authenticate_terminal(conn, "pda-07", token, "10.0.0.7", at(1))
        assert (login.ok, login.unit_id, login.reason) == (True, "patrol-07", "ok")
        stored = await conn.fetchval("SELECT token_digest FROM terminal_credentials")
        assert stored == token_digest(token) and token not in stored
        [listed] = await terminal_credentials(conn)
        assert (listed.terminal_id, listed.unit_id, listed.revoked_at) == (
            "pda-07",
            "patrol-07",
            None,
        )
        trail = await audit_entries(conn, action="terminal.hello")
        assert [(e.outcome, e.user_id, e.source_address) for e in trail] == [
            ("allowed", "terminal:pda-07", "10.0.0.7")
        ]


async def test_a_rotated_or_revoked_terminal_token_opens_nothing(pool: asyncpg.Pool) -> None:
    """Issuing again replaces the old token; revoking refuses the live one, and is audited."""
    async with pool.acquire() as conn:
        old = await issue_terminal(conn, "pda-07", "patrol-07", "admin", NOW)
        new = await issue_terminal(conn, "pda-07", "patrol-07", "admin", at(1))
        assert not (await authenticate_terminal(conn, "pda-07", old, None, at(2))).ok
        assert (await authenticate_terminal(conn, "pda-07", new, None, at(3))).ok
        assert await revoke_terminal(conn, "pda-07", "admin", at(4))
        refused = await authenticate_terminal(conn, "pda-07", new, None, at(5))
        assert (refused.ok, refused.reason) == (False, "revoked")
        assert not await revoke_terminal(conn, "pda-07", "admin", at(6))
        actions = [(e.action, e.outcome) for e in await audit_entries(conn)]
        assert ("terminal.revoked", "allowed") in actions
        assert ("terminal.revoked", "failed") in actions


async def test_guessing_a_terminal_token_locks_the_terminal_with_back_off(
    pool: asyncpg.Pool,
) -> None:
    """Five wrong tokens lock the terminal (even for the right token); the next lock doubles."""
    rules = LockoutRules(max_failures=5, base_lock_seconds=60, max_lock_seconds=3600)
    async with pool.acquire() as conn:
        token = await issue_terminal(conn, "pda-07", "patrol-07", "admin", NOW)
        for n in range(4):
            wrong = await authenticate_terminal(conn, "pda-07", f"guess-{n}", None, at(n), rules)
            assert (wrong.reason, wrong.retry_after_seconds) == ("bad_credentials", None)
        fifth = await authenticate_terminal(conn, "pda-07", "guess-4", None, at(4), rules)
        assert (fifth.reason, fifth.retry_after_seconds) == ("bad_credentials", 60)
        locked = await authenticate_terminal(conn, "pda-07", token, None, at(30), rules)
        assert (locked.ok, locked.reason, locked.retry_after_seconds) == (False, "locked", 34)
        assert (await authenticate_terminal(conn, "pda-07", token, None, at(65), rules)).ok
        for n in range(5):
            await authenticate_terminal(conn, "pda-07", f"again-{n}", None, at(70 + n), rules)
        second = await authenticate_terminal(conn, "pda-07", token, None, at(75), rules)
        assert (second.reason, second.retry_after_seconds) == ("locked", 119)


async def test_an_address_guessing_many_terminal_ids_is_locked_out(pool: asyncpg.Pool) -> None:
    """Spreading guesses over made-up terminal ids still locks the source address."""
    rules = LockoutRules(max_failures=5, max_address_failures=3)
    async with pool.acquire() as conn:
        token = await issue_terminal(conn, "pda-07", "patrol-07", "admin", NOW)
        for n in range(3):
            await authenticate_terminal(conn, f"made-up-{n}", "x" * 20, "10.9.9.9", at(n), rules)
        from_there = await authenticate_terminal(conn, "pda-07", token, "10.9.9.9", at(4), rules)
        assert from_there.reason == "locked"
        assert (await authenticate_terminal(conn, "pda-07", token, "10.0.0.1", at(5), rules)).ok
        rows = await conn.fetch("SELECT key FROM login_failures ORDER BY key")
        # Made-up ids share one key: a scan of ids writes one row, not one per id.
        assert [r["key"] for r in rows] == ["addr:10.9.9.9", "terminal:?"]


async def test_a_display_token_signs_in_a_wall_and_guessing_one_is_locked_out(
    pool: asyncpg.Pool,
) -> None:
    """The token signs the wall in to its jurisdiction; wrong ones lock the address; all audited."""
    rules = LockoutRules(max_failures=3, max_address_failures=50)
    async with pool.acquire() as conn:
        token = await create_display_token(conn, "大厅主屏", COUNTY, "admin", NOW)
        good = await sign_in_display(conn, f"  {token} ", "10.0.0.9", at(1), rules)
        assert good.display is not None and good.display.jurisdiction == COUNTY
        for n in range(3):
            bad = await sign_in_display(conn, f"guess-{n}", "10.6.6.6", at(2 + n), rules)
            assert bad.display is None and bad.reason == "bad_credentials"
        assert bad.retry_after_seconds == 60
        locked = await sign_in_display(conn, token, "10.6.6.6", at(10), rules)
        assert (locked.display, locked.reason) == (None, "locked")
        assert await revoke_display_token(conn, token, at(11))
        revoked = await sign_in_display(conn, token, "10.0.0.9", at(12), rules)
        assert revoked.display is None
        trail = [(e.outcome, e.source_address) for e in await audit_entries(conn)]
        assert ("allowed", "10.0.0.9") in trail and ("refused", "10.6.6.6") in trail
        assert all(token not in (e.detail or "") for e in await audit_entries(conn))
