"""Signed-in browsers for end-to-end tests: an account and a session made in the stack's store."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import asyncpg
from playwright.sync_api import Page

from incidents.store.accounts import SESSION_COOKIE, create_user, open_session
from tests.stack import RunningStack

PASSWORD = "Test-pass-2026!"  # a test account's, in a database that lives for one test


async def _session(database_url: str, username: str, role: str, jurisdiction: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        now = datetime.now(UTC)
        user = await create_user(
            conn, username, username, role, jurisdiction, PASSWORD, now, must_change=False
        )
        token, _ = await open_session(conn, user, "user", "127.0.0.1", now)
        return token
    finally:
        await conn.close()


def sign_in(
    page: Page,
    stack: RunningStack,
    role: str = "county_duty_officer",
    jurisdiction: str = "320118000000",
) -> str:
    """Give the page's browser a session of a new account; return the account's name."""
    username = f"e2e-{uuid.uuid4().hex[:8]}"
    # Playwright's sync API runs an event loop in this thread: the store call gets its own.
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(
            asyncio.run, _session(stack.env["DATABASE_URL"], username, role, jurisdiction)
        )
        token = made.result(timeout=60)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": stack.base_url}])
    return username
