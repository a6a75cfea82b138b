"""The snapshot holds every open case in scope, and the compact form holds the same cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from realtime.streams import StreamNames
from tests.integration.test_gateway import receive, running_gateway
from tests.integration.test_ingest import drain, make_worker

pytestmark = pytest.mark.integration

CASES = 520  # more than the 500 a snapshot used to hold


def spread_report(serial: int) -> str:
    """A report ~1 km from every other one, so each opens its own case."""
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"snapshot-{serial}",
            "channel": "12345",
            "category": "public_service",
            "summary": f"路灯不亮 {serial}",
            "location": {
                "lon": 118.76 + 0.012 * (serial % 30),
                "lat": 31.27 + 0.009 * (serial // 30),
            },
            "reported_at": datetime.now(UTC).isoformat(),
        },
        ensure_ascii=False,
    )


async def test_every_open_case_is_in_the_snapshot_and_compact_rows_match_the_objects(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """520 open cases: all in the object form and all in the compact rows, field for field."""
    worker = make_worker(redis, pool, names)
    await worker.ensure_group()
    for serial in range(CASES):
        await redis.xadd(names.intake, {"data": spread_report(serial)})
    await drain(worker)
    opened = await pool.fetchval("SELECT count(*) FROM cases WHERE status = 'open'")
    assert opened == CASES
    async with running_gateway(redis, pool, names) as url:
        plain, compact = await connect(url, max_size=None), await connect(url, max_size=None)
        await plain.send(json.dumps({"type": "subscribe", "scope": "320118"}))
        await compact.send(json.dumps({"type": "subscribe", "scope": "320118", "compact": True}))
        objects, rows = await receive(plain), await receive(compact)
        assert len(objects["cases"]) == CASES
        assert objects["case_rows"] is None
        assert rows["cases"] == [] and len(rows["case_rows"]) == CASES
        fields = rows["case_fields"]
        assert [dict(zip(fields, row, strict=True)) for row in rows["case_rows"]] == objects[
            "cases"
        ]
        await plain.close()
        await compact.close()
