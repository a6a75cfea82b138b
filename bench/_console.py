"""Shared pieces of the duty-console benches: filling the stack with cases, a live console."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

import asyncpg
import redis
from playwright.sync_api import Browser, Page

import _support  # noqa: F401  (puts the project on sys.path)
from tests.browser import fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack


async def _open_cases(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM cases WHERE status = 'open'"))
    finally:
        await conn.close()


def settle(database_url: str, at_least: int, timeout: float = 600.0) -> int:
    """Wait until the worker has formed the cases (the count stops growing); return it."""
    deadline, last, same = time.monotonic() + timeout, -1, 0
    while time.monotonic() < deadline:
        now = asyncio.run(_open_cases(database_url))
        same = same + 1 if now == last else 0
        if now >= at_least or same >= 5:
            return now
        last = now
        time.sleep(1.0)
    return last


def seed_intake(client: redis.Redis, prefix: str, documents: Iterable[bytes | str]) -> None:
    """Put intake documents on the stack's intake stream, pipelined (the real intake path)."""
    pipe = client.pipeline(transaction=False)
    for serial, raw in enumerate(documents, 1):
        pipe.xadd(prefix + "intake", {"data": raw})
        if serial % 2000 == 0:
            pipe.execute()
    pipe.execute()


def console_screen(
    chromium: Browser,
    stack: RunningStack,
    cases: int,
    before_load: Callable[[Page], None] | None = None,
    timeout_ms: float = 120_000,
) -> tuple[Page, list[str]]:
    """A signed-in console (its own context and account) showing `cases` cases in the grid.

    `before_load` runs after sign-in and before navigation (to watch the snapshot frame).
    Returns the page and the list of outside requests it attempted.
    """
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    sign_in(page, stack)
    outside = fence(page)
    if before_load is not None:
        before_load(page)
    page.goto(stack.base_url + "/")
    page.wait_for_function(
        "(n) => window.pinganQueue && window.pinganQueue.count() >= n"
        " && window.pinganQueue.state.api && document.querySelector('#case-queue .ag-row')",
        arg=cases,
        timeout=timeout_ms,
    )
    return page, outside
