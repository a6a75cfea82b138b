"""Attack suite, terminal route: forged, revoked and guessed credentials, a unit acting for
another, hostile resume positions and forged fields, on the real gateway."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from incidents.case import DispatchTarget
from incidents.commands import Accept, Dispatch
from incidents.store import queries
from incidents.store.accounts import audit_entries
from incidents.store.service import CaseService
from incidents.store.terminal_credentials import revoke_terminal
from realtime.event_sink import RedisEventSink
from realtime.gateway import GatewaySettings
from realtime.streams import StreamNames
from realtime.terminals import TerminalInbox
from tests.integration.test_gateway_live import gateway_at
from tests.integration.test_ingest import FIXED_NOW
from tests.integration.test_realtime_terminals import hello, open_case, receive, register_terminal

pytestmark = pytest.mark.integration

FAST_CHECKS = GatewaySettings(require_session=False, session_check_seconds=0.2)


async def first_answer(url: str, message: dict[str, Any] | str) -> dict[str, Any]:
    """What the gateway answers to one first message."""
    async with connect(url) as ws:
        await ws.send(message if isinstance(message, str) else json.dumps(message))
        return await receive(ws)


async def test_forged_and_malformed_hellos_are_refused(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Wrong token, unknown terminal, a claimed unit, hostile resume ids: each one refused."""
    token = await register_terminal(pool, "pda-07", "patrol-07")
    base = {"type": "hello", "terminal_id": "pda-07", "token": token}
    hostile = [
        {**base, "token": "a" * 43},  # forged token of the right shape
        {**base, "terminal_id": "pda-99"},  # another terminal's id with this token
        {**base, "unit_id": "patrol-09"},  # claiming a unit: the protocol has no such field
        {**base, "since": "99999999999999999999-0; DROP TABLE cases"},
        {**base, "since": "-1--1"},
        {**base, "since": "1" * 200},
        {**base, "terminal_id": "pda-07\u202e"},  # a bidirectional override in the id
        {**base, "terminal_id": "pda-07' OR '1'='1"},
        {**base, "token": ""},
        '{"type": "hello", "terminal_id": "pda-07", "token": ',  # cut-off JSON
    ]
    async with gateway_at(redis, pool, names) as (url, _):
        answers = [await first_answer(url, message) for message in hostile]
    assert [a["type"] for a in answers] == ["error"] * len(hostile)
    assert sum("wrong token" in a["reason"] for a in answers) == 2
    async with pool.acquire() as conn:
        failed = await audit_entries(conn, action="terminal.hello", outcome="failed")
        assert len(failed) == 2  # the two that reached the credential check
        assert await conn.fetchval("SELECT count(*) FROM cases") == 0


async def test_guessing_over_the_socket_locks_the_terminal_out(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Five wrong tokens on the socket, then even the right one is refused while locked."""
    token = await register_terminal(pool, "pda-07", "patrol-07")
    async with gateway_at(redis, pool, names) as (url, _):
        for n in range(5):
            wrong = {"type": "hello", "terminal_id": "pda-07", "token": f"guess-number-{n:04d}"}
            assert "wrong token" in (await first_answer(url, wrong))["reason"]
        right = {"type": "hello", "terminal_id": "pda-07", "token": token}
        locked = await first_answer(url, right)
    assert locked["type"] == "error" and "too many failed hellos" in locked["reason"]


async def test_revoking_a_terminal_closes_its_open_socket(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A terminal reported stolen is cut off at once, and cannot come back."""
    token = await register_terminal(pool, "pda-07", "patrol-07")
    async with gateway_at(redis, pool, names, FAST_CHECKS) as (url, _):
        ws = await hello(url, token)
        assert (await receive(ws))["type"] == "welcome"
        assert (await receive(ws))["type"] == "tasks"
        async with pool.acquire() as conn:
            await revoke_terminal(conn, "pda-07", "admin", datetime.now(UTC))
        ended = await receive(ws, wait=5)
        assert ended["type"] == "error" and "ended" in ended["reason"]
        again = await first_answer(url, {"type": "hello", "terminal_id": "pda-07", "token": token})
        assert "revoked" in again["reason"]


async def test_a_unit_cannot_act_for_another_unit(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Patrol 07's terminal acknowledges patrol 09's task: accepted on the wire, refused on
    the case, which does not change."""
    token = await register_terminal(pool, "pda-07", "patrol-07")
    case_id = await open_case(redis, pool, names)
    service = CaseService(pool, RedisEventSink(redis, names))
    await service.execute(case_id, Accept(actor="duty-li"), now=FIXED_NOW)
    other = DispatchTarget("patrol-09", name="城区巡逻9组")
    await service.execute(case_id, Dispatch(actor="duty-li", targets=(other,)), now=FIXED_NOW)
    async with pool.acquire() as conn:
        before = await queries.case_events(conn, case_id)
    async with gateway_at(redis, pool, names) as (url, _):
        ws = await hello(url, token)
        assert (await receive(ws))["type"] == "welcome"
        snapshot = await receive(ws)
        assert snapshot["tasks"] == []  # another unit's task is not even shown
        for seq, kind in enumerate(("ack", "arrival"), start=1):
            await ws.send(json.dumps({"type": kind, "seq": seq, "case_id": case_id}))
            assert (await receive(ws))["type"] == "accepted"
        late = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        await ws.send(
            json.dumps({"type": "position", "seq": 3, "lon": 118.9, "lat": 31.3, "at": late})
        )
        assert (await receive(ws))["type"] == "rejected"  # a time far ahead: cannot freeze a unit
        await ws.close()
    inbox = TerminalInbox(
        redis, pool, service, names=names, consumer="inbox-1", clock=lambda: FIXED_NOW, block_ms=50
    )
    await inbox.ensure_group()
    while await inbox.process_once():
        pass
    assert (inbox.stats.applied, inbox.stats.refused) == (0, 2)
    async with pool.acquire() as conn:
        assert await queries.case_events(conn, case_id) == before
