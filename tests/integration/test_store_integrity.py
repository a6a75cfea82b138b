"""The store's own integrity, now that no foreign key checks it row by row (migration 0005).

After intake with merging, racing writers of the same source ids, and a manual merge and
split, every report and event points at a case, counts agree, case numbers have no gaps,
and the outbox is empty once everything is published.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

import asyncpg
import pytest
import redis.asyncio as aioredis

from incidents.reports import AcceptedReport
from incidents.store.outbox import mark_published
from incidents.store.service import CaseService
from realtime.event_sink import RedisEventSink
from realtime.streams import StreamNames
from tests.integration.forming import form_reports
from tests.integration.test_case_service import accepted
from tests.integration.test_ingest import FIXED_NOW, demo_locate, valid_lines

pytestmark = pytest.mark.integration


def clustered(count: int, tag: str, seed: int) -> list[AcceptedReport]:
    """Reports around a few spots, so many link to cases opened earlier in the run."""
    rng = random.Random(seed)
    spots = [(118.88 + 0.01 * k, 31.33 + 0.004 * k) for k in range(5)]
    lines = valid_lines()
    out = []
    for serial in range(count):
        document = json.loads(rng.choice(lines))
        lon, lat = rng.choice(spots)
        document["location"] = {"lon": lon + rng.uniform(-2e-4, 2e-4), "lat": lat}
        document["source_id"] = f"{tag}-{serial}"
        at = FIXED_NOW + timedelta(seconds=serial)
        out.append(accepted(json.dumps(document, ensure_ascii=False), at=at))
    return out


async def record_and_publish(pool: asyncpg.Pool, batch: list[AcceptedReport]) -> None:
    async with pool.acquire() as conn:
        events = await form_reports(conn, batch)
        await mark_published(conn, [e.event_id for e in events])


async def test_racing_writers_merges_and_splits_leave_a_consistent_store(
    pool: asyncpg.Pool, database_url: str, redis: aioredis.Redis, names: StreamNames
) -> None:
    reports = clustered(240, "int", seed=5)
    other = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        # Two formers take overlapping batches: the same source ids were stored twice (the
        # redelivery case), and the store must keep each one exactly once.
        for start in range(0, 240, 40):
            chunk = reports[start : start + 40]
            await asyncio.gather(
                record_and_publish(pool, chunk), record_and_publish(other, chunk[::-1][:30])
            )
    finally:
        await other.close()

    service = CaseService(pool, RedisEventSink(redis, names))
    async with pool.acquire() as conn:
        linked = await conn.fetchrow(
            "SELECT case_id, source_id FROM case_reports WHERE link_kind = 'auto' LIMIT 1"
        )
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM cases ORDER BY id LIMIT 2")]
    assert linked is not None, "the clustered reports should have merged"
    place = demo_locate()(118.7602, 31.3401)
    await service.split(
        linked["case_id"],
        linked["source_id"],
        jurisdiction=place.jurisdiction,
        names=place.names,
        actor="duty-li",
        reason="不是同一事件",
        now=FIXED_NOW + timedelta(hours=1),
    )
    await service.merge(ids[1], ids[0], actor="duty-li", now=FIXED_NOW + timedelta(hours=1))

    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM case_reports") == 240
        orphans = await conn.fetchval(
            "SELECT (SELECT count(*) FROM case_reports r"
            "        WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = r.case_id))"
            "     + (SELECT count(*) FROM case_events e"
            "        WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = e.case_id))"
        )
        assert orphans == 0
        miscounted = await conn.fetch(
            "SELECT c.id, c.report_count, count(r.*) AS stored FROM cases c"
            " LEFT JOIN case_reports r ON r.case_id = c.id"
            " WHERE c.status <> 'merged' GROUP BY c.id HAVING c.report_count <> count(r.*)"
        )
        assert [dict(r) for r in miscounted] == []
        numbers = await conn.fetch(
            "SELECT split_part(case_no, '-', 2) AS day, count(*) AS n,"
            " max(split_part(case_no, '-', 3)::int) AS top FROM cases GROUP BY 1"
        )
        assert all(r["n"] == r["top"] for r in numbers), [dict(r) for r in numbers]
        counters = await conn.fetchval("SELECT sum(last_seq) FROM case_counters")
        assert counters == await conn.fetchval("SELECT count(*) FROM cases")
        events_per_case = await conn.fetch(
            "SELECT case_id, count(*) AS n, max(seq) AS top FROM case_events GROUP BY case_id"
        )
        assert all(r["n"] == r["top"] for r in events_per_case)
        # The service publishes through its sink and clears its own rows; so does intake here.
        assert await conn.fetchval("SELECT count(*) FROM event_outbox") == 0
