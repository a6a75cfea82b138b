"""The simulator's reports through the real ingest worker: every one accounted for."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import pytest
import redis.asyncio as aioredis

from realtime.sim_reports import CHINA
from realtime.simulator import SimConfig, run_simulation, valid_source_ids
from realtime.streams import StreamNames
from tests.integration.test_ingest import make_worker

pytestmark = pytest.mark.integration


async def test_every_simulated_report_becomes_a_case_report_or_a_dead_letter_and_repeats_merge(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Valid reports are stored once each, malformed ones dead-lettered, repeat calls merged."""
    config = SimConfig(
        seed=8,
        speed=60,
        rate=10,
        duration_seconds=6.0,  # six simulated minutes: most repeat calls come within them
        sim_start=datetime(2026, 11, 27, 9, 0, tzinfo=CHINA),
        units=False,
        cameras=0,
        malformed_share=0.1,
        repeat_share=0.6,
        tick_seconds=0.1,
    )
    stats = await run_simulation(config, asyncio.Event(), redis=redis, names=names)
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    while await worker.process_once():
        pass
    assert await redis.xlen(names.intake_dead) == stats.reports["malformed"] > 0
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT source_id, case_id FROM case_reports")
    case_of = {r["source_id"]: r["case_id"] for r in rows}
    assert sorted(case_of) == sorted(valid_source_ids(stats))
    repeats = stats.repeat_of
    assert len(repeats) > 10
    merged = sum(case_of[repeat] == case_of[first] for repeat, first in repeats.items())
    # Repeats fall within ~40 m and minutes of the first call: nearly all join its case.
    assert merged / len(repeats) > 0.8
