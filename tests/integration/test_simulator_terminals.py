"""Simulated units answer their dispatches through a real gateway, and the inbox applies them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from incidents.case import DispatchTarget
from incidents.commands import Accept, Dispatch
from incidents.store import queries
from incidents.store.service import CaseService
from incidents.store.terminal_credentials import issue_terminal
from realtime.event_sink import RedisEventSink
from realtime.sim_terminal import terminal_id_for
from realtime.sim_units import ALWAYS, FleetUnit
from realtime.simulator import SimConfig, run_simulation
from realtime.streams import StreamNames
from realtime.terminals import TerminalInbox, last_accepted
from tests.integration.test_gateway_live import gateway_at
from tests.integration.test_ingest import FIXED_NOW, valid_lines
from tests.integration.test_realtime_terminals import open_case

pytestmark = pytest.mark.integration


async def test_a_dispatched_simulated_unit_acks_arrives_and_reports_back(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Dispatch reaches the unit's terminal; ack, arrival and feedback apply to the case."""
    case_id = await open_case(redis, pool, names)
    location = json.loads(valid_lines()[0])["location"]
    unit = FleetUnit(
        "fire-9", "fire_engine", "320118001000", location["lon"], location["lat"], (ALWAYS,)
    )
    async with pool.acquire() as conn:
        token = await issue_terminal(conn, terminal_id_for("fire-9"), "fire-9", "admin", FIXED_NOW)
    service = CaseService(pool, RedisEventSink(redis, names))
    stop = asyncio.Event()
    async with gateway_at(redis, pool, names) as (url, _):
        config = SimConfig(
            seed=2,
            speed=60,
            rate=0,
            cameras=0,
            gateway_url=url,
            tick_seconds=0.1,
            on_scene_scale=0.05,
            duration_seconds=60,
        )
        run = asyncio.create_task(
            run_simulation(
                config, stop, redis=redis, names=names, fleet=[unit], credentials={"fire-9": token}
            )
        )
        await asyncio.sleep(1.0)  # the terminal says hello first
        await service.execute(case_id, Accept(actor="duty-li"), now=FIXED_NOW)
        target = DispatchTarget("fire-9", name="消防1号车")
        await service.execute(case_id, Dispatch(actor="duty-li", targets=(target,)), now=FIXED_NOW)
        for _ in range(300):
            if await redis.xlen(names.terminal_inbox) >= 4:  # ack, arrival, two feedbacks
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the last answer reaches the terminal
        stop.set()
        stats = await asyncio.wait_for(run, 10)

    assert stats.tasks_received == {"fire-9": [case_id]}
    assert stats.tasks_answered == {"fire-9": [case_id]}
    assert stats.terminal_rejections == []
    inbox = TerminalInbox(
        redis, pool, service, names=names, consumer="inbox-1", clock=lambda: FIXED_NOW, block_ms=50
    )
    await inbox.ensure_group()
    while await inbox.process_once():
        pass
    assert (inbox.stats.applied, inbox.stats.refused) == (4, 0)
    # Five numbered messages: ack, arrival, the position sent from the scene, two feedbacks.
    assert await last_accepted(redis, names, terminal_id_for("fire-9")) == 5
    async with pool.acquire() as conn:
        log = await queries.case_events(conn, case_id)
    kinds: list[Any] = [e.type.value for e in log if (e.causation_id or "").startswith("terminal:")]
    for kind in ("case.unit_acknowledged", "case.unit_arrived", "case.feedback_reported"):
        assert kind in kinds
