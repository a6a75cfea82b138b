"""The live socket on real Redis and PostgreSQL: signed-in screens only, in their own scope."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from incidents.store.accounts import create_user, open_session, revoke_user_sessions
from realtime.gateway import Gateway, GatewaySettings
from realtime.streams import StreamNames
from tests.e2e.sessions import PASSWORD
from tests.stack import free_port, listening

pytestmark = pytest.mark.integration

PAGE = "http://127.0.0.1:8050"
COUNTY, YANGJIANG, CHUNXI = "320118000000", "320118101000", "320118001000"


@contextlib.asynccontextmanager
async def signed_in_gateway(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> AsyncIterator[str]:
    """The gateway as app.py runs it: sessions required, the centre's origin only."""
    settings = GatewaySettings(allowed_origins=(PAGE, None), session_check_seconds=0.2)
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(Gateway(redis, pool, names, settings).serve("127.0.0.1", port, stop))
    await listening(port)
    try:
        yield f"ws://127.0.0.1:{port}/live"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def session_cookie(pool: asyncpg.Pool, username: str, role: str, where: str) -> str:
    """An account and a live session; the Cookie header its page would send."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        user = await create_user(conn, username, username, role, where, PASSWORD, now, False)
        token, _ = await open_session(conn, user, "user", "127.0.0.1", now)
    return f"pingan_session={token}"


async def first_answer(url: str, scope: str, cookie: str | None) -> tuple[dict[str, Any], Any]:
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(url, origin=Origin(PAGE), additional_headers=headers)
    await ws.send(json.dumps({"type": "subscribe", "scope": scope}))
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message, ws


async def test_screens_must_be_signed_in_and_watch_only_their_jurisdiction(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """No session, another township, a role that sees no cases: refused and audited."""
    yangjiang = await session_cookie(pool, "yangjiang", "township_coordinator", YANGJIANG)
    auditor = await session_cookie(pool, "auditor", "auditor", COUNTY)
    duty = await session_cookie(pool, "duty", "county_duty_officer", COUNTY)
    async with signed_in_gateway(redis, pool, names) as url:
        refused = [
            await first_answer(url, YANGJIANG, None),
            await first_answer(url, COUNTY, yangjiang),
            await first_answer(url, CHUNXI, yangjiang),
            await first_answer(url, COUNTY, auditor),
            await first_answer(url, COUNTY, "pingan_session=forged-token-of-nobody"),
        ]
        reasons = [message.get("reason", "") for message, _ in refused]
        assert [message["type"] for message, _ in refused] == ["error"] * 5
        assert "sign in" in reasons[0] and "outside your jurisdiction" in reasons[1]
        assert "outside your jurisdiction" in reasons[2] and "may not view cases" in reasons[3]
        assert "session has ended" in reasons[4]
        own, own_ws = await first_answer(url, YANGJIANG, yangjiang)
        county, county_ws = await first_answer(url, COUNTY, duty)
        assert own["type"] == county["type"] == "snapshot"
        for _, ws in (*refused, (None, own_ws), (None, county_ws)):
            await ws.close()
    async with pool.acquire() as conn:
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log"
            " WHERE action = 'gateway.subscribe' AND outcome = 'refused'"
        )
    assert audited == 5


async def test_a_foreign_page_cannot_open_the_socket(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A socket opened from another web page's origin is refused at the handshake."""
    async with signed_in_gateway(redis, pool, names) as url:
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin=Origin("http://evil.example"))
        assert refused.value.response.status_code == 403


async def test_signing_out_ends_the_open_socket(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Logout everywhere: the page's live socket closes within the session check interval."""
    duty = await session_cookie(pool, "duty", "county_duty_officer", COUNTY)
    async with signed_in_gateway(redis, pool, names) as url:
        snapshot, ws = await first_answer(url, COUNTY, duty)
        assert snapshot["type"] == "snapshot"
        async with pool.acquire() as conn:
            user_id = await conn.fetchval("SELECT id FROM users WHERE username = 'duty'")
            await revoke_user_sessions(conn, user_id, datetime.now(UTC))
        ended = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ended["type"] == "error" and "session has ended" in ended["reason"]
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
