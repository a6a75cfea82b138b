"""The wall's figures on real PostgreSQL and Redis: read per jurisdiction, pushed as events."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg
import pytest
import redis.asyncio as aioredis

from geo.pack import load_demo_pack
from incidents.kpis import KPI_EVENT
from incidents.store.demo_fleet import load_demo_units
from incidents.store.kpi_queries import jurisdiction_kpis
from realtime.kpi_job import publish_kpis
from realtime.streams import StreamNames
from tests.integration.test_ingest import FIXED_NOW, valid_lines
from tests.integration.test_queries import opened

pytestmark = pytest.mark.integration

COUNTY = "320118000000"


async def test_figures_count_the_jurisdictions_cases_and_units(pool: asyncpg.Pool) -> None:
    """The county counts every opened case; a township only its own; units by status."""
    ids = await opened(pool, valid_lines())
    now = FIXED_NOW + timedelta(hours=3 * len(ids))
    async with pool.acquire() as conn:
        await load_demo_units(conn, load_demo_pack(), at=now - timedelta(hours=1))
        township = await conn.fetchval(
            "SELECT township_code FROM cases WHERE township_code IS NOT NULL LIMIT 1"
        )
        in_township = await conn.fetchval(
            "SELECT count(*) FROM cases WHERE township_code = $1", township
        )
        recent = await conn.fetchval(
            "SELECT count(*) FROM cases WHERE opened_at > $1::timestamptz - interval '24 hours'"
            " AND opened_at <= $1",
            now,
        )
        county = await jurisdiction_kpis(conn, COUNTY, now)
        local = await jurisdiction_kpis(conn, township, now)
    assert sum(county.open_by_step.values()) == len(ids)
    assert sum(local.open_by_step.values()) == in_township < len(ids)
    assert sum(county.last_24h) == recent < len(ids)
    assert sum(county.units_by_status.values()) > sum(local.units_by_status.values()) > 0


async def test_the_job_puts_one_kpi_snapshot_per_jurisdiction_on_the_events_stream(
    pool: asyncpg.Pool, redis: aioredis.Redis, names: StreamNames
) -> None:
    """Each event names its jurisdiction as `township_code`, the key the gateway routes by."""
    await opened(pool, valid_lines()[:2])
    published = await publish_kpis(redis, pool, names, FIXED_NOW, [COUNTY, "320118101000"])
    assert published == 2
    entries = await redis.xrange(names.events)
    events = [json.loads(data[b"data"]) for _, data in entries]
    assert [e["type"] for e in events] == [KPI_EVENT, KPI_EVENT]
    assert [e["township_code"] for e in events] == [COUNTY, "320118101000"]
    assert events[0]["kpis"]["scope"] == COUNTY and "open_by_step" in events[0]["kpis"]
