"""A real Chromium for browser tests: Debian's build, driven by Playwright, network fenced."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, sync_playwright

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's chromium if installed (Playwright's own build is used otherwise)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def browser() -> Iterator[Browser]:
    """Launch headless Chromium; a missing browser is an error, never a skip."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


def fence(page: Page) -> list[str]:
    """Block every request to a host other than this machine; return the list of attempts."""
    outside: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on(
        "websocket",
        lambda ws: (
            None if (urlsplit(ws.url).hostname or "") in LOCAL_HOSTS else outside.append(ws.url)
        ),
    )
    return outside


def page_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of a page, as they happen (a script that throws
    reports no console message: both must be watched)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors
