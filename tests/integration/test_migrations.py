"""Migrations that rewrite stored data, run against rows written in the old format."""

from __future__ import annotations

import asyncpg
import pytest
from msgspec.structs import replace

from incidents.case import case_from_snapshot
from incidents.store.migrate import MIGRATIONS_DIR
from tests.unit.test_stored_format import GOLDEN_CASE, LEGACY_CASE_JSON

pytestmark = pytest.mark.integration

# How a case with one linked report was stored before migration 0006.
_ROLLUP = '"report_count":2,"latest_report_at":"2026-11-26T08:10:00+00:00",'
_OLD_LINKED = (
    '"linked_reports":[{"source_id":"grid-20261126-000003","channel":"grid",'
    '"summary":"同一路灯","location":{"lon":118.00001,"lat":31.50002,"address":"东门"},'
    '"reported_at":"2026-11-26T08:10:00+00:00","reporter":null,'
    '"linked_at":"2026-11-26T08:11:00+00:00","linked_by":"system:ingest","how":"auto",'
    '"merged_from_case_id":null},'
    '{"source_id":"grid-20261126-000002","channel":"grid","summary":"路灯又灭了",'
    '"location":{"lon":118.0,"lat":31.5,"address":null},'
    '"reported_at":"2026-11-26T08:05:00+00:00","reporter":{"name":"王五","phone":null},'
    '"linked_at":"2026-11-26T08:06:00+00:00","linked_by":"duty-a","how":"manual",'
    '"merged_from_case_id":null}],'
)


async def test_0006_rolls_linked_reports_up_into_a_count_and_the_latest_time(
    pool: asyncpg.Pool,
) -> None:
    assert _ROLLUP in LEGACY_CASE_JSON
    old = LEGACY_CASE_JSON.replace(_ROLLUP, _OLD_LINKED)
    sql = (MIGRATIONS_DIR / "0006_report_rollup.sql").read_text("utf-8")
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO cases (id, case_no, channel, category, severity, summary, lon, lat,"
            " inside_county, county_code, step, status, owning_tier, reported_at, opened_at,"
            " updated_at, snapshot)"
            " VALUES (41, 'n', '12345', 'public_service', 4, 's', 118, 31.5, true, '320118',"
            " 'verify', 'open', 'township', now(), now(), now(), $1)",
            old,
        )
        async with conn.transaction():
            await conn.execute(sql)
        stored = await conn.fetchval("SELECT snapshot FROM cases WHERE id = 41")
    case = case_from_snapshot(stored)
    # Two linked reports in the old row: three in all, the latest at 08:10.
    assert (case.report_count, case.latest_report_at) == (3, GOLDEN_CASE.latest_report_at)
    assert case == replace(GOLDEN_CASE, report_count=3)
