"""A simulated shift at 60× against the real stack (worker with the terminal inbox, gateway,
dashboard): every report accounted for, every dispatched unit arrives and reports back, the
scenario's plan proposed, and no unit in two places at once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis

from geo.pack import load_demo_pack
from geo.recommend import recommend
from geo.routing import Router, TravelMode
from incidents.commands import Accept
from incidents.store.service import CaseService
from incidents.store.unit_store import unit_records
from incidents.units import recommendation_inputs
from realtime.event_sink import RedisEventSink
from realtime.positions import latest_positions
from realtime.sim_fleet import issue_simulator_terminals, stored_fleet
from realtime.simulator import SimConfig, SimStats, run_simulation
from realtime.streams import StreamNames
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

DISPATCHES = 4  # cases the duty officer sends a unit to during the shift


async def duty_officer(
    pool: asyncpg.Pool, client: aioredis.Redis, names: StreamNames, stop: asyncio.Event
) -> list[tuple[int, str]]:
    """Accept new cases and send each the best available recommended unit, a few times."""
    pack = load_demo_pack()
    router = Router.from_pack(pack)
    service = CaseService(pool, RedisEventSink(client, names))
    sent: list[tuple[int, str]] = []
    busy: set[str] = set()
    while len(sent) < DISPATCHES and not stop.is_set():
        await asyncio.sleep(0.5)
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, lon, lat, category, township_code FROM cases"
                " WHERE step = 'intake' AND status = 'open' AND inside_county ORDER BY id LIMIT 5"
            )
            records = await unit_records(conn)
        fixes = {
            u.unit_id: (u.lon, u.lat, datetime.fromtimestamp(u.at_ms / 1000, UTC))
            for u in await latest_positions(client, names)
        }
        now = datetime.now(UTC)
        for row in rows:
            if len(sent) >= DISPATCHES:
                break
            # Vehicles only: on an e-bike a unit 5 km away needs a long simulated trip.
            candidates = [
                u
                for u in recommendation_inputs(records, fixes)
                if u.unit_id not in busy and u.mode is TravelMode.CAR
            ]
            ranked = recommend(
                router,
                row["lon"],
                row["lat"],
                candidates,
                now,
                category=row["category"],
                case_township_code=row["township_code"],
            )
            if not ranked:
                continue
            await service.execute(row["id"], Accept(actor="duty-li"), now=now)
            best = ranked[0]
            await service.dispatch_unit(
                row["id"], best.unit_id, actor="duty-li", now=now, recommendation_rank=1
            )
            busy.add(best.unit_id)
            sent.append((row["id"], best.unit_id))
    return sent


async def shift(stack: RunningStack) -> tuple[SimStats, list[tuple[int, str]]]:
    """Twenty simulated minutes at 60× with a chemical-leak scenario, and a duty officer."""
    names = StreamNames(stack.stream_prefix)
    client = aioredis.Redis.from_url(stack.env["REDIS_URL"])
    pool = await asyncpg.create_pool(stack.env["DATABASE_URL"], min_size=1, max_size=4)
    pack = load_demo_pack()
    try:
        async with pool.acquire() as conn:
            fleet = await stored_fleet(conn, pack)
            tokens = await issue_simulator_terminals(conn, fleet, "system:test", datetime.now(UTC))
        config = SimConfig(
            seed=11,
            speed=60,
            rate=3.0,
            rhythm=False,
            scenario="chemical-leak",
            scenario_after_seconds=2.0,
            duration_seconds=1200 / 60,
            cameras=200,
            gateway_url=f"ws://127.0.0.1:{stack.ws_port}/live",
            tick_seconds=0.2,
            on_scene_scale=0.02,
            malformed_share=0.1,
        )
        stop = asyncio.Event()
        officer = asyncio.create_task(duty_officer(pool, client, names, stop))
        # The units keep answering their tasks after the reports stop: run them a while more.
        run = asyncio.create_task(
            run_simulation(
                config, stop, redis=client, names=names, pack=pack, fleet=fleet, credentials=tokens
            )
        )
        sent = await asyncio.wait_for(officer, 60)
        stats = await asyncio.wait_for(run, 120)
        return stats, sent
    finally:
        await pool.close()
        await client.aclose()


def test_a_simulated_shift_is_accounted_for_end_to_end(shift_stack: RunningStack) -> None:
    """Reports → cases, linked reports or dead letters; units round-trip; plan proposed."""
    stats, sent = asyncio.run(shift(shift_stack))
    print(json.dumps(stats.as_json(), ensure_ascii=False))
    assert stats.errors == 0 and stats.dropped == 0
    assert len(sent) == DISPATCHES
    names = StreamNames(shift_stack.stream_prefix)
    client = redis.Redis.from_url(shift_stack.env["REDIS_URL"])
    valid = [sid for kind, ids in stats.source_ids.items() if kind != "malformed" for sid in ids]
    malformed = sum(stats.malformed.values())
    assert len(valid) >= 20 and malformed > 0
    valid += stats.alarm_source_ids  # camera alarms enter intake through the cameras stream

    async def settled() -> tuple[set[str], list[dict[str, object]], list[str]]:
        conn = await asyncpg.connect(shift_stack.env["DATABASE_URL"])
        try:
            for _ in range(120):
                rows = await conn.fetch("SELECT source_id FROM case_reports")
                done = await conn.fetch(
                    "SELECT case_id, unit_id, acknowledged_at, arrived_at, finished_at"
                    " FROM case_assignments"
                )
                known = {r["source_id"] for r in rows}
                answered = [d for d in done if d["finished_at"] is not None]
                if set(valid) <= known and len(answered) >= DISPATCHES:
                    break
                await asyncio.sleep(0.5)
            plans = await conn.fetch("SELECT plan_id FROM plan_proposals")
            return known, [dict(d) for d in done], [p["plan_id"] for p in plans]
        finally:
            await conn.close()

    known, assignments, plans = asyncio.run(settled())
    missing = set(valid) - known
    assert not missing, f"{len(missing)} reports became neither a case nor a linked report"
    dead = client.xlen(names.intake_dead)
    assert dead == malformed, "every malformed entry is a dead letter, and nothing else is"
    for case_id, unit_id in sent:
        [row] = [a for a in assignments if (a["case_id"], a["unit_id"]) == (case_id, unit_id)]
        assert row["acknowledged_at"] and row["arrived_at"] and row["finished_at"], row
    assert "hazmat-leak" in plans, "the chemical-leak scenario proposes its plan"
    # No unit in two places at once: never two different positions with one timestamp.
    seen: dict[tuple[str, str], tuple[float, float]] = {}
    for _, fields in client.xrange(names.positions):
        fix = json.loads(fields[b"data"])
        key = (fix["unit_id"], fix["at"])
        place = (fix["lon"], fix["lat"])
        assert seen.setdefault(key, place) == place, f"{key} in two places"
    client.close()
