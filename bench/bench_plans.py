"""Emergency plans on real PostgreSQL and Redis: activation, step ticks, the overdue scan, CAP.

Run: .venv/bin/python bench/bench_plans.py [--activations N] [--ticks N]

Each activation is one transaction (activation row, 8 steps, the CAP Alert, the event and its
outbox row) followed by its publish on the events stream; each tick likewise. The overdue
scan runs over every activation's steps when about half of them are past their deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as aioredis

from _support import bench_database
from incidents.cap import CapSender, activation_alert, warning_area
from incidents.case import Jurisdiction, Location, Report
from incidents.lifecycle import open_case
from incidents.plan_library import load_library
from incidents.plans import activate
from incidents.store.case_store import insert_cases, reserve_ids, views_of, write_events
from incidents.store.plan_service import PlanService
from incidents.store.plan_store import find_overdue_steps
from incidents.store.pool import create_pool
from incidents.views import PlaceNames
from incidents.vocabulary import Category, Channel, Severity
from realtime.event_sink import RedisEventSink
from realtime.streams import StreamNames

T0 = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
SENDER = CapSender("320118.pingan.command", "南京市高淳区社会管理服务中心")
PLACE = Jurisdiction(county_code="320118", township_code="320118001000")


def percentiles(samples: list[float]) -> str:
    """Median and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered):6.2f} ms   p99 {p99:6.2f} ms"


async def make_cases(pool: asyncpg.Pool, count: int) -> list[int]:
    """`count` stored level-II safety cases (what the hazmat plan triggers on)."""
    async with pool.acquire() as conn, conn.transaction():
        ids = await reserve_ids(conn, "case_id_seq", count)
        cases, events = [], []
        for case_id in ids:
            case, opened = open_case(
                Report(
                    source_id=f"bench-plan-{case_id}",
                    channel=Channel.POLICE_110,
                    category=Category.SAFETY_PRODUCTION,
                    summary="化工园区储罐区有刺鼻气味",
                    location=Location(118.8747, 31.3246),
                    reported_at=T0,
                    severity=Severity.II,
                ),
                case_id=case_id,
                case_no=f"320118-20261126-{case_id:05d}",
                jurisdiction=PLACE,
                actor="bench",
                now=T0,
            )
            cases.append((case, PlaceNames("淳溪街道", None)))
            events.extend(opened)
        await insert_cases(conn, cases, T0)
        await write_events(conn, events, views_of(cases))
        await conn.execute("DELETE FROM event_outbox")
    return ids


async def run(redis_url: str, database_url: str, activations: int, ticks: int) -> None:
    """The database figures: activate, tick, scan, record."""
    library = load_library()
    pool = await create_pool(database_url, min_size=1, max_size=4)
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    names = StreamNames("bench-plans:")
    service = PlanService(pool, RedisEventSink(redis, names), library, SENDER)
    try:
        case_ids = await make_cases(pool, activations)
        samples, activation_ids = [], []
        start = time.perf_counter()
        for case_id in case_ids:
            began = time.perf_counter()
            result = await service.activate(case_id, "hazmat-leak", by="bench", now=T0)
            samples.append((time.perf_counter() - began) * 1000)
            activation_ids.append(result.activation.activation_id)
        elapsed = time.perf_counter() - start
        print(f"activate (8 steps, CAP Alert, event, publish) x{activations}:")
        print(f"  {activations / elapsed:7.0f} /s   {percentiles(samples)}")

        samples = []
        start = time.perf_counter()
        for n in range(ticks):
            aid = activation_ids[n % len(activation_ids)]
            step_no = 1 + n // len(activation_ids)
            began = time.perf_counter()
            await service.tick(aid, step_no, by="bench", now=T0 + timedelta(minutes=1))
            samples.append((time.perf_counter() - began) * 1000)
        elapsed = time.perf_counter() - start
        print(f"tick a step (event, publish) x{ticks}:")
        print(f"  {ticks / elapsed:7.0f} /s   {percentiles(samples)}")

        # At +25 min steps due at 5, 10, 10 and 20 min are past due: about half of 8.
        later = T0 + timedelta(minutes=25)
        samples = []
        for _ in range(20):
            async with pool.acquire() as conn:
                began = time.perf_counter()
                found = await find_overdue_steps(conn, later, limit=500)
                samples.append((time.perf_counter() - began) * 1000)
        print(f"find_overdue_steps over {activations * 8} steps (limit 500, {len(found)} found):")
        print(f"  {percentiles(samples)}")
        began = time.perf_counter()
        announced = await service.record_overdue(later, limit=500)
        print(
            f"record_overdue (one transaction, {announced} step_overdue events):"
            f" {(time.perf_counter() - began) * 1000:7.1f} ms"
        )
    finally:
        keys = [key async for key in redis.scan_iter(match=names.prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await pool.close()


def bench_cap() -> None:
    """Building one Alert, pure."""
    plan = load_library()["hazmat-leak"]
    case, _ = open_case(
        Report(
            "b", Channel.POLICE_110, Category.SAFETY_PRODUCTION, "b", Location(118.87, 31.32), T0
        ),
        case_id=1,
        case_no="320118-20261126-00001",
        jurisdiction=PLACE,
        actor="bench",
        now=T0,
    )
    activation, _ = activate(plan, case, activation_id=1, by="bench", now=T0)
    area = warning_area(plan, case, township_name="淳溪街道")
    rounds = 2000
    began = time.perf_counter()
    for _ in range(rounds):
        activation_alert(activation, area, SENDER, sent=T0)
    per = (time.perf_counter() - began) / rounds * 1e6
    print(f"build one CAP 1.2 Alert (ElementTree, pure): {per:6.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activations", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=1000)
    args = parser.parse_args()
    with bench_database() as (redis_url, database_url):
        asyncio.run(run(redis_url, database_url, args.activations, args.ticks))
    bench_cap()


if __name__ == "__main__":
    main()
