"""Screen tokens on the gateway: the scope a screen may watch is decided on the server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from realtime.gateway import GatewaySettings
from realtime.screens import grant_screen, revoke_screen
from realtime.streams import StreamNames
from tests.integration.test_gateway_live import CHUNXI, COUNTY, YANGJIANG, case_event, gateway_at

pytestmark = pytest.mark.integration

TOWNSHIP_TOKEN = "token-of-the-yangjiang-coordinator"
COUNTY_TOKEN = "token-of-the-county-duty-officer"


async def first_answer(url: str, subscribe: dict[str, Any]) -> dict[str, Any]:
    """Subscribe and return the server's first message (the connection stays open)."""
    ws = await connect(url)
    await ws.send(json.dumps({"type": "subscribe", **subscribe}))
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    message["_ws"] = ws
    return message


async def test_tokens_bind_screens_to_their_jurisdiction(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """No token, unknown or revoked token, or a wider scope than granted: refused."""
    await grant_screen(redis, names, TOWNSHIP_TOKEN, "coordinator-wang", YANGJIANG)
    await grant_screen(redis, names, COUNTY_TOKEN, "duty-li", COUNTY)
    settings = GatewaySettings(require_screen_tokens=True, require_session=False)
    async with gateway_at(redis, pool, names, settings) as (url, _):
        refused = [
            await first_answer(url, {"scope": YANGJIANG}),
            await first_answer(url, {"scope": COUNTY, "token": TOWNSHIP_TOKEN}),
            await first_answer(url, {"scope": CHUNXI, "token": TOWNSHIP_TOKEN}),
            await first_answer(url, {"scope": COUNTY, "token": "x" * 20}),
        ]
        assert [m["type"] for m in refused] == ["error"] * 4
        assert "requires a token" in refused[0]["reason"]
        assert "outside" in refused[1]["reason"]

        township = await first_answer(url, {"scope": YANGJIANG, "token": TOWNSHIP_TOKEN})
        county = await first_answer(url, {"scope": YANGJIANG, "token": COUNTY_TOKEN})
        assert township["type"] == county["type"] == "snapshot"
        await redis.xadd(names.events, {"data": case_event(1, CHUNXI)})
        await redis.xadd(names.events, {"data": case_event(2, YANGJIANG)})
        delta = json.loads(await asyncio.wait_for(township["_ws"].recv(), 5))
        assert delta["event"]["case_id"] == 2

        await revoke_screen(redis, names, TOWNSHIP_TOKEN)
        again = await first_answer(url, {"scope": YANGJIANG, "token": TOWNSHIP_TOKEN})
        assert again["type"] == "error"
        for message in (*refused, township, county, again):
            await message["_ws"].close()
