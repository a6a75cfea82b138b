"""Accounts on real PostgreSQL: passwords, lock-out, sessions, grants, screens, the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from argon2 import PasswordHasher

from incidents.store import accounts
from incidents.store.accounts import (
    LockoutRules,
    PasswordRejected,
    UsernameTaken,
    active_grants,
    audit_entries,
    authenticate,
    check_password_rules,
    create_display_token,
    create_user,
    disable_user,
    display_of,
    get_user,
    grant_scope,
    open_session,
    record_audit,
    reset_password,
    revoke_display_token,
    revoke_grant,
    revoke_session,
    revoke_user_sessions,
    session_of,
    token_digest,
)

pytestmark = pytest.mark.integration

COUNTY = "320118000000"  # the demo county, as the jurisdictions table codes it
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PASSWORD = "Harbour-Lamp-42"
WRONG = "Harbour-Lamp-43"


def at(seconds: float) -> datetime:
    """A moment this many seconds after NOW."""
    return NOW + timedelta(seconds=seconds)


async def make_user(conn: asyncpg.Connection, username: str = "duty-li") -> accounts.User:
    """A dispatcher of the demo county with the test password."""
    return await create_user(conn, username, "Li Ming", "dispatcher", COUNTY, PASSWORD, NOW)


async def test_a_user_is_created_and_signs_in(pool: asyncpg.Pool) -> None:
    """A new account signs in with its password and must change it first; names are lower-cased."""
    async with pool.acquire() as conn:
        user = await create_user(conn, "Duty-Li", "Li Ming", "dispatcher", COUNTY, PASSWORD, NOW)
        assert (user.username, user.role, user.jurisdiction) == ("duty-li", "dispatcher", COUNTY)
        assert user.must_change_password and not user.disabled
        assert await get_user(conn, "DUTY-LI") == user
        assert await get_user(conn, "nobody") is None

        result = await authenticate(conn, "Duty-Li ", PASSWORD, "10.0.0.5", at(1))
        assert (result.ok, result.reason, result.retry_after_seconds) == (True, "ok", None)
        assert result.user == user

        with pytest.raises(UsernameTaken):
            await make_user(conn)
        with pytest.raises(accounts.AccountError, match="username"):
            await create_user(conn, "li", "Li", "dispatcher", COUNTY, PASSWORD, NOW)
        with pytest.raises(accounts.AccountError, match="jurisdiction"):
            await create_user(conn, "duty-wang", "Wang", "dispatcher", "999999", PASSWORD, NOW)
        (entry,) = await audit_entries(conn, action="login")
        assert (entry.user_id, entry.role, entry.outcome) == ("duty-li", "dispatcher", "allowed")
        assert entry.source_address == "10.0.0.5"


async def test_a_wrong_password_is_refused(pool: asyncpg.Pool) -> None:
    """A wrong password fails with 'bad_credentials' and the failure is audited."""
    async with pool.acquire() as conn:
        await make_user(conn)
        result = await authenticate(conn, "duty-li", WRONG, "10.0.0.5", at(1))
        assert (result.ok, result.user, result.reason) == (False, None, "bad_credentials")
        assert result.retry_after_seconds is None
        (entry,) = await audit_entries(conn, outcome="failed")
        assert (entry.action, entry.user_id, entry.detail) == ("login", "duty-li", "wrong password")


async def test_password_rules_refuse_each_problem_with_its_reason(pool: asyncpg.Pool) -> None:
    """Each rule is reported on its own; create and reset both refuse a weak password."""
    assert check_password_rules("Str0ng-Harbour", "alice") == []
    assert check_password_rules("Ab1-short", "alice") == ["must be at least 10 characters long"]
    assert check_password_rules("harbourlamp42", "alice") == [
        "must use at least 3 of: lower-case letters, upper-case letters, digits, other characters"
    ]
    assert check_password_rules("My-Alice-2026", "alice") == ["must not contain the username"]
    assert check_password_rules("Password123", "alice") == ["is one of the most common passwords"]
    assert check_password_rules("Aa1-" * 300, "alice") == ["must be at most 1024 characters long"]
    # Chinese characters count as "other".
    assert check_password_rules("平安指挥Harbour", "alice") == []
    assert len(check_password_rules("alice", "alice")) == 3

    async with pool.acquire() as conn:
        with pytest.raises(PasswordRejected) as refused:
            await create_user(conn, "alice", "Alice", "dispatcher", COUNTY, "Alice-12345", NOW)
        assert refused.value.problems == ["must not contain the username"]
        assert await get_user(conn, "alice") is None

        await make_user(conn)
        with pytest.raises(PasswordRejected, match="common"):
            await reset_password(conn, "duty-li", "P@ssw0rd123", at(5))
        assert await reset_password(conn, "duty-li", "New-Harbour-7", at(5), must_change=False)
        assert not await reset_password(conn, "nobody", "New-Harbour-7", at(5))
        assert not (await authenticate(conn, "duty-li", PASSWORD, None, at(6))).ok
        fresh = await authenticate(conn, "duty-li", "New-Harbour-7", None, at(7))
        assert fresh.ok and fresh.user is not None and not fresh.user.must_change_password


async def test_an_account_locks_out_with_a_doubling_back_off(pool: asyncpg.Pool) -> None:
    """Five failures lock the account even for the right password; each later lock doubles."""
    async with pool.acquire() as conn:
        await make_user(conn)
        for n in range(4):
            result = await authenticate(conn, "duty-li", WRONG, f"10.0.1.{n}", at(n))
            assert (result.reason, result.retry_after_seconds) == ("bad_credentials", None)
        fifth = await authenticate(conn, "duty-li", WRONG, "10.0.1.4", at(4))
        assert (fifth.reason, fifth.retry_after_seconds) == ("bad_credentials", 60)

        locked = await authenticate(conn, "duty-li", PASSWORD, "10.0.2.1", at(14))
        assert (locked.ok, locked.reason, locked.retry_after_seconds) == (False, "locked", 50)
        assert (await authenticate(conn, "duty-li", PASSWORD, "10.0.2.1", at(63.5))).reason == (
            "locked"
        )
        assert (await authenticate(conn, "duty-li", PASSWORD, "10.0.2.1", at(64))).ok

        # The success cleared the failures but not the lock-out count: the next lock is 120 s.
        start = 100
        for n in range(4):
            result = await authenticate(conn, "duty-li", WRONG, "10.0.3.1", at(start + n))
            assert result.retry_after_seconds is None
        second = await authenticate(conn, "duty-li", WRONG, "10.0.3.1", at(start + 4))
        assert (second.reason, second.retry_after_seconds) == ("bad_credentials", 120)
        assert (await authenticate(conn, "duty-li", PASSWORD, None, at(start + 123))).reason == (
            "locked"
        )
        assert (await authenticate(conn, "duty-li", PASSWORD, None, at(start + 124))).ok

        # Failures spread wider than the window never add up to a lock.
        for n in range(8):
            result = await authenticate(conn, "duty-li", WRONG, None, at(1000 + 900 * n))
            assert result.retry_after_seconds is None

        # The lock-out count is forgotten a day after the last lock ended: back to 60 s.
        later = 104 + 120 + 86_400
        for n in range(4):
            await authenticate(conn, "duty-li", WRONG, None, at(later + n))
        third = await authenticate(conn, "duty-li", WRONG, None, at(later + 4))
        assert third.retry_after_seconds == 60
        entries = await audit_entries(conn, action="login", outcome="refused")
        assert entries and all(e.detail == "locked (account)" for e in entries)


async def test_lock_outs_are_capped(pool: asyncpg.Pool) -> None:
    """The doubling stops at max_lock_seconds."""
    rules = LockoutRules(max_failures=2, base_lock_seconds=60, max_lock_seconds=200)
    async with pool.acquire() as conn:
        await make_user(conn)
        clock, locks = 0.0, []
        for _ in range(4):
            await authenticate(conn, "duty-li", WRONG, None, at(clock), rules)
            result = await authenticate(conn, "duty-li", WRONG, None, at(clock + 1), rules)
            assert result.retry_after_seconds is not None
            locks.append(result.retry_after_seconds)
            clock += 1 + result.retry_after_seconds
        assert locks == [60, 120, 200, 200]


async def test_parallel_guesses_cannot_outrun_the_lock(pool: asyncpg.Pool) -> None:
    """Eight guesses at once: five are checked, the other three find the account locked."""
    async with pool.acquire() as conn:
        await make_user(conn)
    results = await asyncio.gather(
        *(_attempt(pool, "duty-li", WRONG, f"10.0.4.{n}", at(1)) for n in range(8))
    )
    reasons = sorted(r.reason for r in results)
    assert reasons == ["bad_credentials"] * 5 + ["locked"] * 3


async def _attempt(
    pool: asyncpg.Pool, username: str, password: str, address: str, now: datetime
) -> accounts.LoginResult:
    """One sign-in on a connection of its own."""
    async with pool.acquire() as conn:
        return await authenticate(conn, username, password, address, now)


async def test_one_address_is_locked_out_across_many_usernames(pool: asyncpg.Pool) -> None:
    """Twenty failures from one address lock it for every name, the real user's included."""
    async with pool.acquire() as conn:
        await make_user(conn)
        for n in range(19):
            result = await authenticate(conn, f"guess{n}", WRONG, "10.0.0.9", at(n))
            assert (result.reason, result.retry_after_seconds) == ("bad_credentials", None)
        last = await authenticate(conn, "guess19", WRONG, "10.0.0.9", at(19))
        assert (last.reason, last.retry_after_seconds) == ("bad_credentials", 60)

        blocked = await authenticate(conn, "duty-li", PASSWORD, "10.0.0.9", at(20))
        assert (blocked.reason, blocked.retry_after_seconds) == ("locked", 59)
        (entry,) = await audit_entries(conn, outcome="refused")
        assert (entry.user_id, entry.detail) == ("duty-li", "locked (address)")
        assert (await authenticate(conn, "duty-li", PASSWORD, "10.0.0.10", at(20))).ok
        assert (await authenticate(conn, "duty-li", PASSWORD, "10.0.0.9", at(79))).ok


async def test_an_unknown_user_looks_like_a_wrong_password(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same answers, same lock-out, a dummy verify; the typed name is not written down."""
    verified: list[str | None] = []
    real_verify = accounts._verify

    def counting_verify(stored: str | None, password: str) -> bool:
        verified.append(stored)
        return real_verify(stored, password)

    monkeypatch.setattr(accounts, "_verify", counting_verify)
    async with pool.acquire() as conn:
        await make_user(conn)
        known = [await authenticate(conn, "duty-li", WRONG, None, at(n)) for n in range(6)]
        unknown = [await authenticate(conn, "duty-xu", WRONG, None, at(n)) for n in range(6)]
        assert known == unknown
        assert [r.reason for r in unknown] == ["bad_credentials"] * 5 + ["locked"]
        assert unknown[4].retry_after_seconds == 60
        # Five real verifies and five dummy ones; the locked attempts verify nothing.
        assert len(verified) == 10 and verified[5:] == [None] * 5 and None not in verified[:5]
        rows = await audit_entries(conn, user_id=None, limit=1000)
        assert all("duty-xu" not in (e.detail or "") for e in rows)
        assert {e.user_id for e in rows} == {"duty-li", None}


async def test_sessions_end_by_idle_timeout_and_absolute_expiry(pool: asyncpg.Pool) -> None:
    """A session lives while used, ends after its idle time, and ends at its absolute expiry."""
    async with pool.acquire() as conn:
        user = await make_user(conn)
        token, opened = await open_session(
            conn, user, "user", "10.0.0.5", NOW, idle_timeout_seconds=600, absolute_seconds=3600
        )
        assert opened.id == token_digest(token) and opened.csrf_token != token
        assert opened.expires_at == at(600)
        assert await session_of(conn, "no-such-token", at(1)) is None
        assert await session_of(conn, "", at(1)) is None

        first = await session_of(conn, token, at(10))
        assert first is not None and first.last_seen_at == NOW  # not rewritten within 30 s
        assert (first.username, first.role, first.jurisdiction) == ("duty-li", "dispatcher", COUNTY)
        seen = await session_of(conn, token, at(40))
        assert seen is not None and seen.last_seen_at == at(40)
        assert await conn.fetchval("SELECT last_seen_at FROM sessions") == at(40)
        assert await session_of(conn, token, at(639)) is not None
        assert await session_of(conn, token, at(639 + 600)) is None

        token, _ = await open_session(
            conn, user, "user", None, NOW, idle_timeout_seconds=600, absolute_seconds=3600
        )
        for moment in range(500, 3600, 500):
            assert await session_of(conn, token, at(moment)) is not None
        assert await session_of(conn, token, at(3600)) is None


async def test_revocation_ends_sessions(pool: asyncpg.Pool) -> None:
    """A session ends when revoked by token or id; log-out-everywhere ends all of a user's."""
    async with pool.acquire() as conn:
        li = await make_user(conn)
        wang = await make_user(conn, "duty-wang")
        by_token, _ = await open_session(conn, li, "user", None, NOW)
        by_id, session = await open_session(conn, li, "display", None, NOW)
        assert await revoke_session(conn, by_token, at(1))
        assert not await revoke_session(conn, by_token, at(2))
        assert await revoke_session(conn, session.id, at(1))
        assert await session_of(conn, by_token, at(3)) is None
        assert await session_of(conn, by_id, at(3)) is None

        one, _ = await open_session(conn, li, "user", None, NOW)
        two, _ = await open_session(conn, li, "display", None, NOW)
        other, _ = await open_session(conn, wang, "user", None, NOW)
        assert await revoke_user_sessions(conn, li.id, at(5)) == 2
        assert await session_of(conn, one, at(6)) is None
        assert await session_of(conn, two, at(6)) is None
        assert await session_of(conn, other, at(6)) is not None
        assert await revoke_user_sessions(conn, li.id, at(7)) == 0


async def test_a_disabled_users_sessions_stop_working(pool: asyncpg.Pool) -> None:
    """Disabling ends the sessions and refuses sign-in; a disabled flag alone also ends them."""
    async with pool.acquire() as conn:
        li = await make_user(conn)
        wang = await make_user(conn, "duty-wang")
        token, _ = await open_session(conn, li, "user", None, NOW)
        assert await disable_user(conn, "duty-li", at(1))
        assert not await disable_user(conn, "nobody", at(1))
        assert await session_of(conn, token, at(2)) is None
        refused = await authenticate(conn, "duty-li", PASSWORD, None, at(3))
        assert (refused.ok, refused.reason) == (False, "disabled")
        wrong = await authenticate(conn, "duty-li", WRONG, None, at(4))
        assert wrong.reason == "bad_credentials"
        disabled = await get_user(conn, "duty-li")
        assert disabled is not None and disabled.disabled
        with pytest.raises(accounts.AccountError):
            await open_session(conn, disabled, "user", None, NOW)

        # Disabled behind the module's back (no revocation): the session still stops working.
        token, _ = await open_session(conn, wang, "user", None, NOW)
        await conn.execute("UPDATE users SET disabled = true WHERE username = 'duty-wang'")
        assert await session_of(conn, token, at(5)) is None


async def test_grants_expire_by_themselves(pool: asyncpg.Pool) -> None:
    """A grant is active until its expiry or its revocation, whichever comes first."""
    async with pool.acquire() as conn:
        user = await make_user(conn)
        flood = await grant_scope(
            conn, user.id, "320118001000", "admin-zhao", "flood duty", at(3600), NOW
        )
        night = await grant_scope(
            conn, user.id, "320118002000", "admin-zhao", "night cover", at(7200), NOW
        )
        assert [g.id for g in await active_grants(conn, user.id, at(60))] == [flood.id, night.id]
        assert [g.id for g in await active_grants(conn, user.id, at(3600))] == [night.id]
        assert await revoke_grant(conn, night.id, at(4000))
        assert not await revoke_grant(conn, night.id, at(4001))
        assert await active_grants(conn, user.id, at(4000)) == []
        with pytest.raises(accounts.AccountError):
            await grant_scope(conn, user.id, "320118001000", "admin-zhao", "late", NOW, NOW)
        with pytest.raises(accounts.AccountError):
            await grant_scope(conn, user.id, "320118001000", "admin-zhao", " ", at(60), NOW)


async def test_display_tokens_work_until_revoked(pool: asyncpg.Pool) -> None:
    """A wall-screen token names its screen until it is revoked; only its hash is kept."""
    async with pool.acquire() as conn:
        token = await create_display_token(conn, "Hall wall", COUNTY, "admin-zhao", NOW)
        other = await create_display_token(conn, "Side wall", COUNTY, "admin-zhao", NOW)
        screen = await display_of(conn, token, at(1))
        assert screen is not None and (screen.label, screen.jurisdiction) == ("Hall wall", COUNTY)
        assert screen.id == token_digest(token)
        assert await display_of(conn, "forged", at(1)) is None
        assert await revoke_display_token(conn, token, at(2))
        assert not await revoke_display_token(conn, token, at(3))
        assert await display_of(conn, token, at(3)) is None
        side = await display_of(conn, other, at(3))
        assert side is not None
        assert await revoke_display_token(conn, side.id, at(4))
        assert await display_of(conn, other, at(5)) is None
        with pytest.raises(accounts.AccountError, match="jurisdiction"):
            await create_display_token(conn, "Nowhere", "999999", "admin-zhao", NOW)


async def test_the_audit_log_is_append_only_and_filters_work(pool: asyncpg.Pool) -> None:
    """UPDATE, DELETE and TRUNCATE are refused; each filter narrows; newest first."""
    async with pool.acquire() as conn:
        ids = [
            await record_audit(
                conn,
                at=at(n),
                user_id="duty-li" if n % 2 else "duty-wang",
                role="dispatcher",
                source_address="10.0.0.5",
                action="case.view" if n < 4 else "case.export",
                outcome="allowed" if n != 3 else "refused",
                case_id=41 if n in (1, 2) else None,
                detail=f"entry {n}",
            )
            for n in range(6)
        ]
        for statement in (
            "UPDATE audit_log SET outcome = 'allowed'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 6

        everything = await audit_entries(conn)
        assert [e.id for e in everything] == ids[::-1]

        async def found(**filters: object) -> list[int]:
            return [e.id for e in await audit_entries(conn, **filters)]

        assert await found(since=at(2), until=at(4)) == [ids[3], ids[2]]
        assert await found(user_id="duty-li") == [ids[5], ids[3], ids[1]]
        assert await found(action="case.export") == [ids[5], ids[4]]
        assert await found(outcome="refused") == [ids[3]]
        assert await found(case_id=41) == [ids[2], ids[1]]
        assert await found(user_id="duty-wang", action="case.view") == [ids[2], ids[0]]
        assert await found(limit=2, offset=1) == [ids[4], ids[3]]
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO audit_log (at, action, outcome) VALUES (now(), 'x', 'maybe')"
            )


async def test_passwords_are_argon2id_and_old_hashes_are_upgraded(pool: asyncpg.Pool) -> None:
    """The stored hash is argon2id; a hash with weaker parameters is replaced at sign-in."""
    async with pool.acquire() as conn:
        await make_user(conn)
        stored = await conn.fetchval("SELECT password_hash FROM users")
        assert stored.startswith("$argon2id$")
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        await conn.execute("UPDATE users SET password_hash = $1", weak)
        assert (await authenticate(conn, "duty-li", PASSWORD, None, at(1))).ok
        upgraded = await conn.fetchval("SELECT password_hash FROM users")
        assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)
        assert (await authenticate(conn, "duty-li", PASSWORD, None, at(2))).ok
        logins = await audit_entries(conn, action="login")
        assert [e.detail for e in logins] == ["signed in", "signed in; password hash upgraded"]


async def test_no_token_or_password_is_stored_anywhere(pool: asyncpg.Pool) -> None:
    """No text column of any table holds a session token, a display token or a password."""
    hidden: list[str] = [PASSWORD, WRONG, "New-Harbour-7", "Typed-Into-Name-9"]
    async with pool.acquire() as conn:
        user = await make_user(conn)
        await authenticate(conn, "duty-li", WRONG, "10.0.0.5", at(1))
        # A password typed into the name field must not end up in the audit trail.
        await authenticate(conn, "Typed-Into-Name-9", PASSWORD, "10.0.0.5", at(2))
        await authenticate(conn, "duty-li", PASSWORD, "10.0.0.5", at(3))
        await reset_password(conn, "duty-li", "New-Harbour-7", at(4))
        for kind in ("user", "display"):
            token, _ = await open_session(conn, user, kind, "10.0.0.5", at(5))
            hidden.append(token)
        hidden.append(await create_display_token(conn, "Hall wall", COUNTY, "admin-zhao", at(6)))
        await grant_scope(conn, user.id, "320118001000", "admin-zhao", "flood", at(600), at(7))

        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"
        )
        tables = {c["table_name"] for c in columns}
        assert {"users", "sessions", "login_failures", "display_tokens", "audit_log"} <= tables
        for column in columns:
            for secret in hidden:
                # Case-blind: lock-out keys and usernames are stored lower-cased.
                hits = await conn.fetchval(
                    f'SELECT count(*) FROM "{column["table_name"]}"'
                    f' WHERE strpos(lower("{column["column_name"]}"), lower($1)) > 0',
                    secret,
                )
                assert hits == 0, (column["table_name"], column["column_name"])
