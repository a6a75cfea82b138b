"""Administering accounts on real PostgreSQL: demo users, one-time passwords, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from incidents.access import Role
from incidents.store.accounts import (
    authenticate,
    check_password_rules,
    display_of,
    open_session,
    session_of,
)
from incidents.store.user_admin import (
    DEMO_USERS,
    create_demo_users,
    one_time_password,
    reset_to_one_time_password,
)
from tests.services import ROOT

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_one_time_passwords_meet_the_rules_and_differ() -> None:
    """Generated passwords pass the password rules and never repeat."""
    passwords = {one_time_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(check_password_rules(p, "someone") == [] for p in passwords)


async def test_demo_users_of_every_role_are_created_once_with_working_passwords(
    pool: asyncpg.Pool,
) -> None:
    """Every role but the terminal's has an account; a second run creates nothing."""
    async with pool.acquire() as conn:
        issued = await create_demo_users(conn, NOW)
        assert await create_demo_users(conn, NOW) == []
        roles = {item.role for item in issued}
        assert roles == {r.value for r in Role} - {Role.FIELD_UNIT.value}
        assert len({item.secret for item in issued}) == len(issued)
        for item in issued:
            if item.role == Role.WALL_SCREEN.value:
                display = await display_of(conn, item.secret, NOW)
                assert display is not None and display.jurisdiction == "320118000000"
                continue
            result = await authenticate(conn, item.who, item.secret, "127.0.0.1", NOW)
            assert result.ok and result.user is not None and result.user.must_change_password
        stored = await conn.fetchval("SELECT count(*) FROM users")
        assert stored == len(DEMO_USERS)
        logged = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'user.created'")
        assert logged == len(DEMO_USERS)


async def test_a_reset_gives_a_new_one_time_password_and_ends_every_session(
    pool: asyncpg.Pool,
) -> None:
    """The old password and the open sessions stop working."""
    async with pool.acquire() as conn:
        issued = {item.who: item for item in await create_demo_users(conn, NOW)}
        first = await authenticate(conn, "duty", issued["duty"].secret, "127.0.0.1", NOW)
        assert first.user is not None
        token, _ = await open_session(conn, first.user, "user", "127.0.0.1", NOW)
        password = await reset_to_one_time_password(conn, "duty", NOW, "cli:test")
        assert password is not None and password != issued["duty"].secret
        later = NOW + timedelta(seconds=1)
        assert await session_of(conn, token, later) is None
        old = await authenticate(conn, "duty", issued["duty"].secret, "127.0.0.1", later)
        assert not old.ok
        assert (await authenticate(conn, "duty", password, "127.0.0.1", later)).ok
        assert await reset_to_one_time_password(conn, "nobody", NOW, "cli:test") is None


def test_the_cli_creates_lists_and_disables_accounts(database_url: str) -> None:
    """app.py users: a new account's password is shown once; list shows it; disable ends it."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "redis://unused"}

    def users(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "users", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    created = users(
        "create", "gucheng", "--name", "固城镇 钱进", "--role", "township_coordinator",
        "--jurisdiction", "320118102000",
    )  # fmt: skip
    assert "gucheng" in created and "one-time password" in created
    assert "gucheng" in users("list") and "active" in users("list")
    assert "disabled" in users("disable", "gucheng")
    assert "disabled" in users("list")
