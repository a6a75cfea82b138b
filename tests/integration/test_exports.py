"""The export routes on a real store: scoped, refused in words, audited, no personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI

from dashboard.panels.exports import add_export_routes
from dashboard.sign_in import SCOPE_KEY
from incidents.store.accounts import audit_entries, create_user, open_session, session_of
from tests.integration.test_guarded import two_townships
from tests.integration.test_ingest import valid_lines

PASSWORD = "Test-pass-2026!"


async def _get(app: FastAPI, path: str, session: Any) -> tuple[int, bytes]:
    """One GET through the ASGI app, as the session gate would hand it on."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
        "http_version": "1.1",
        SCOPE_KEY: session,
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def _session(pool: asyncpg.Pool, name: str, role: str, jurisdiction: str) -> Any:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        user = await create_user(
            conn, name, name, role, jurisdiction, PASSWORD, now, must_change=False
        )
        token, _ = await open_session(conn, user, "user", "127.0.0.1", now)
        return await session_of(conn, token, now)


async def test_the_queue_csv_is_the_callers_scope_and_never_names_reporters(
    pool: asyncpg.Pool,
) -> None:
    _, mine, township, other, _ = await two_townships(pool)
    app = FastAPI()

    async def pool_of() -> asyncpg.Pool:
        return pool

    add_export_routes(app, pool_of)
    analyst = await _session(pool, "ana-1", "county_analyst", "320118000000")
    status, body = await _get(app, "/export/queue.csv", analyst)
    assert status == 200
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("事件编号,类别")
    assert len(text.splitlines()) > 3
    reporters = [json.loads(line).get("reporter") or {} for line in valid_lines()]
    phones = [r["phone"] for r in reporters if r.get("phone")]
    assert phones, "the samples name reporters"
    for phone in phones:
        assert phone not in text, "reporters never reach an export"
    town = await _session(pool, "town-1", "township_coordinator", township)
    status, body = await _get(app, "/export/queue.csv", town)
    rows = body.decode("utf-8-sig").splitlines()
    assert status == 200 and 1 < len(rows) < len(text.splitlines())
    grid = await _session(pool, "grid-1", "grid_worker", "320118001001")
    status, body = await _get(app, "/export/queue.csv", grid)
    assert status == 403 and body.decode() == "无权操作：您的角色无权导出"
    status, body = await _get(app, f"/export/case/{other}/map.html", town)
    assert status == 403 and body.decode() == "无权操作：不在您的辖区内"
    status, body = await _get(app, f"/export/case/{mine}/map.html", town)
    assert status == 200 and b"<html" in body.lower()
    async with pool.acquire() as conn:
        entries = await audit_entries(
            conn, user_id=None, action=None, outcome=None, case_id=None, limit=50
        )
    actions = {(e.user_id, e.action, e.outcome) for e in entries}
    assert ("ana-1", "export.queue", "allowed") in actions
    assert ("grid-1", "export", "refused") in actions
    assert ("town-1", "export.case_map", "allowed") in actions
