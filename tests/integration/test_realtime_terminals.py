"""Field terminals on the live gateway: credentials, tasks out, messages in, once and in order."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from incidents.case import DispatchTarget
from incidents.commands import Accept, Dispatch
from incidents.store import queries
from incidents.store.service import CaseService
from incidents.store.terminal_credentials import issue_terminal
from realtime.event_sink import RedisEventSink
from realtime.streams import StreamNames
from realtime.terminals import TerminalInbox
from tests.integration.test_gateway_live import gateway_at
from tests.integration.test_ingest import FIXED_NOW, make_worker, valid_lines

pytestmark = pytest.mark.integration


async def register_terminal(pool: asyncpg.Pool, terminal_id: str, unit_id: str) -> str:
    """Issue a terminal's credential the way an administrator does; its token."""
    async with pool.acquire() as conn:
        return await issue_terminal(conn, terminal_id, unit_id, "admin", datetime.now(UTC))


async def receive(ws: ClientConnection, wait: float = 3.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return message


async def hello(url: str, token: str, since: str | None = None) -> ClientConnection:
    ws = await connect(url)
    await ws.send(
        json.dumps({"type": "hello", "terminal_id": "pda-07", "token": token, "since": since})
    )
    return ws


async def open_case(redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames) -> int:
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    await redis.xadd(names.intake, {"data": valid_lines()[0]})
    while await worker.process_once():
        pass
    async with pool.acquire() as conn:
        case_id: int = await conn.fetchval("SELECT id FROM cases")
    return case_id


async def test_wrong_token_is_refused(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A terminal with a wrong token gets an error and the connection is closed."""
    await register_terminal(pool, "pda-07", "patrol-07")
    async with gateway_at(redis, pool, names) as (url, _):
        ws = await hello(url, token="not-the-right-token!!")
        message = await receive(ws)
        assert message["type"] == "error"
        assert "wrong token" in message["reason"]


async def test_terminal_gets_its_task_and_its_messages_apply_once_in_order(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Dispatch reaches the terminal; ack, arrival, feedback resent after a cut apply once."""
    token = await register_terminal(pool, "pda-07", "patrol-07")
    case_id = await open_case(redis, pool, names)
    service = CaseService(pool, RedisEventSink(redis, names))
    async with gateway_at(redis, pool, names) as (url, _):
        ws = await hello(url, token)
        welcome = await receive(ws)
        assert (welcome["type"], welcome["unit_id"], welcome["last_seq"]) == (
            "welcome",
            "patrol-07",
            0,
        )
        assert (await receive(ws))["tasks"] == []
        await service.execute(case_id, Accept(actor="duty-li"), now=FIXED_NOW)
        target = DispatchTarget("patrol-07", name="城区巡逻7组")
        await service.execute(case_id, Dispatch(actor="duty-li", targets=(target,)), now=FIXED_NOW)
        task = await receive(ws)
        assert task["type"] == "deltas"
        assert [d["event"]["type"] for d in task["deltas"]] == ["case.dispatched"]
        assert task["deltas"][0]["event"]["unit_id"] == "patrol-07"

        queued = [
            {"type": "ack", "seq": 1, "case_id": case_id},
            {"type": "arrival", "seq": 2, "case_id": case_id},
            {"type": "feedback", "seq": 3, "case_id": case_id, "text": "已到场，双方情绪平稳"},
            {
                "type": "position",
                "seq": 4,
                "lon": 118.88,
                "lat": 31.33,
                "at": datetime.now(UTC).isoformat(),
            },
        ]
        await ws.send(json.dumps(queued[0]))
        assert (await receive(ws))["type"] == "accepted"
        await ws.send(json.dumps(queued[2]))  # out of order: refused, nothing applied
        assert (await receive(ws))["type"] == "gap"
        await ws.send('{"type": "feedback", "seq": 2, "case_id": 1, "text": "   "}')
        assert (await receive(ws))["type"] == "rejected"
        ws.transport.abort()

        # Back online: the terminal resends its whole queue, the first one again included.
        again = await hello(url, token)
        assert (await receive(again))["last_seq"] == 1
        snapshot = await receive(again)
        assert [t["case_id"] for t in snapshot["tasks"]] == [case_id]
        verdicts = []
        for message in queued:
            await again.send(json.dumps(message, ensure_ascii=False))
            answer = await receive(again)
            while answer["type"] == "deltas":  # its own task's events may come in between
                answer = await receive(again)
            verdicts.append(answer["type"])
        assert verdicts == ["duplicate", "accepted", "accepted", "accepted"]
        await again.close()

    inbox = TerminalInbox(
        redis, pool, service, names=names, consumer="inbox-1", clock=lambda: FIXED_NOW, block_ms=50
    )
    await inbox.ensure_group()
    while await inbox.process_once():
        pass
    entries: Any = await redis.xrange(names.terminal_inbox)
    await inbox.handle_batch(entries)  # redelivered after a crash: nothing happens twice
    assert (inbox.stats.applied, inbox.stats.repeated, inbox.stats.refused) == (3, 3, 0)
    async with pool.acquire() as conn:
        log = await queries.case_events(conn, case_id)
    from_terminal = [e for e in log if (e.causation_id or "").startswith("terminal:")]
    causes = list(dict.fromkeys(e.causation_id for e in from_terminal))
    assert causes == ["terminal:pda-07:1", "terminal:pda-07:2", "terminal:pda-07:3"]
    kinds = [e.type.value for e in from_terminal]
    for kind in ("case.unit_acknowledged", "case.unit_arrived", "case.feedback_reported"):
        assert kinds.count(kind) == 1
    fixes: Any = await redis.xrange(names.positions)
    assert [json.loads(f[b"data"])["unit_id"] for _, f in fixes] == ["patrol-07"]
