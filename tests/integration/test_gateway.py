"""The websocket gateway on real Redis and PostgreSQL: snapshot, ordered deltas, scope, resume."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from realtime.gateway import Gateway, GatewaySettings
from realtime.streams import StreamNames
from tests.integration.test_ingest import drain, make_worker, valid_lines
from tests.stack import free_port, listening

pytestmark = pytest.mark.integration

YANGJIANG = "320118101000"


@contextlib.asynccontextmanager
async def running_gateway(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> AsyncIterator[str]:
    port = free_port()
    stop = asyncio.Event()
    # Fan-out itself, without sign-in (tests/integration/test_gateway_sessions.py has that).
    open_gateway = Gateway(redis, pool, names, GatewaySettings(require_session=False))
    task = asyncio.create_task(open_gateway.serve("127.0.0.1", port, stop))
    await listening(port)
    try:
        yield f"ws://127.0.0.1:{port}/live"
    finally:
        stop.set()
        await task


async def subscribe(url: str, scope: str, since: str | None = None) -> ClientConnection:
    ws = await connect(url)
    await ws.send(json.dumps({"type": "subscribe", "scope": scope, "since": since}))
    return ws


async def receive(ws: ClientConnection, wait: float = 3.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return message


async def deltas(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [await receive(ws) for _ in range(count)]


async def test_snapshot_then_ordered_deltas_filtered_by_township(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """The county sees every case; a township connection never receives another township's."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    lines = valid_lines()
    await redis.xadd(names.intake, {"data": lines[0]})
    await drain(worker)
    async with running_gateway(redis, pool, names) as url:
        county = await subscribe(url, "320118")
        township = await subscribe(url, YANGJIANG)
        county_snapshot = await receive(county)
        township_snapshot = await receive(township)
        assert county_snapshot["type"] == "snapshot"
        assert len(county_snapshot["cases"]) == 1
        assert township_snapshot["cases"] == []

        for line in lines[1:]:
            await redis.xadd(names.intake, {"data": line})
        await drain(worker)
        received = await deltas(county, len(lines) - 1)
        ids = [m["id"] for m in received]
        assert [m["type"] for m in received] == ["delta"] * (len(lines) - 1)
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
        # A screen gets an opened case whole, a linked report as what it changed.
        townships = {c["id"]: c["township_code"] for c in county_snapshot["cases"]}
        townships.update(
            (m["event"]["case_id"], m["event"]["case"]["township_code"])
            for m in received
            if "case" in m["event"]
        )
        in_yangjiang = [m for m in received if townships[m["event"]["case_id"]] == YANGJIANG]
        assert in_yangjiang, "the samples include a report in 阳江镇"
        mine = await deltas(township, len(in_yangjiang))
        assert [m["id"] for m in mine] == [m["id"] for m in in_yangjiang]
        with pytest.raises(TimeoutError):
            await receive(township, wait=0.5)
        await county.close()
        await township.close()


async def test_resume_receives_exactly_what_was_missed(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Reconnecting with the last id replays the missed events: no gap, no duplicate."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    lines = valid_lines()
    async with running_gateway(redis, pool, names) as url:
        first = await subscribe(url, "320118")
        snapshot = await receive(first)
        for line in lines[:3]:
            await redis.xadd(names.intake, {"data": line})
        await drain(worker)
        seen = await deltas(first, 3)
        await first.close()

        for line in lines[3:7]:
            await redis.xadd(names.intake, {"data": line})
        await drain(worker)
        again = await subscribe(url, "320118", since=seen[-1]["id"])
        replay = await receive(again)
        assert replay["type"] == "replay"
        # Exactly the events-stream entries after the last one seen, in order.
        after = await redis.xrange(names.events, min=f"({seen[-1]['id']}")
        assert [d["id"] for d in replay["deltas"]] == [i.decode() for i, _ in after]
        assert len(after) == 4
        for line in lines[7:9]:
            await redis.xadd(names.intake, {"data": line})
        await drain(worker)
        live = await deltas(again, 2)
        newest = await redis.xrange(names.events, min=f"({replay['last_id']}")
        assert [m["id"] for m in live] == [i.decode() for i, _ in newest]
        assert snapshot["type"] == "snapshot"
        await again.close()


async def test_bad_subscribe_gets_an_error_not_a_crash(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A malformed first message is answered with an error and the connection closed."""
    async with running_gateway(redis, pool, names) as url:
        ws = await connect(url)
        await ws.send('{"type": "subscribe", "scope": "<script>"}')
        message = await receive(ws)
        assert message["type"] == "error"
        assert "scope" in message["reason"]
        ok = await subscribe(url, "320118")
        assert (await receive(ok))["type"] == "snapshot"
        await ok.close()
