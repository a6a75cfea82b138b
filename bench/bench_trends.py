"""Time the trends page's reads: period figures and the 24-hour and 30-day trends.

Run: .venv/bin/python bench/bench_trends.py [--cases N] [--repeat R]

N cases spread over 30 days (default 30,000: a thousand a day) in a throwaway database, each
with its opened, dispatched, arrived, verified (10% reopened first) and archived events and an
evaluation: about 5.3 events a case. Rows are copied in directly (the reads are measured, not
the writes). Prints the median of R runs of each read for the county and one township.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

import _support
from incidents.store import kpi_queries
from incidents.trends import last_24_hours, last_30_days

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
CASE_COLUMNS = [
    "id",
    "case_no",
    "channel",
    "category",
    "severity",
    "summary",
    "lon",
    "lat",
    "inside_county",
    "county_code",
    "township_code",
    "step",
    "status",
    "owning_tier",
    "reported_at",
    "opened_at",
    "updated_at",
    "deadline_at",
    "closed_at",
    "reopen_count",
    "resolution_tier",
]


async def seed(url: str, count: int) -> tuple[int, list[str]]:
    """Copy in `count` cases and their events; the number of events and the township codes."""
    conn = await asyncpg.connect(url)
    try:
        townships = [
            r["code"]
            for r in await conn.fetch("SELECT code FROM jurisdictions WHERE tier = 'township'")
        ]
        rng = random.Random(7)
        cases, events, evaluations = [], [], []
        for case_id in range(1, count + 1):
            opened = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
            dispatched = opened + timedelta(seconds=rng.expovariate(1 / 240))
            arrived = dispatched + timedelta(seconds=rng.expovariate(1 / 900))
            reopened = rng.random() < 0.1
            verified = arrived + timedelta(hours=rng.uniform(1, 8))
            archived = verified + timedelta(hours=rng.uniform(0.5, 4))
            closed = archived if archived < NOW else None
            cases.append(
                (case_id, f"320118-B-{case_id:07d}", "110", "dispute", 3, "bench", 118.9, 31.3,
                 True, "320118", rng.choice(townships), "archive" if closed else "feedback",
                 "archived" if closed else "open", "township", opened, opened, NOW,
                 opened + timedelta(hours=24), closed, int(reopened), "township")
            )  # fmt: skip
            moments = [("case.opened", opened), ("case.dispatched", dispatched),
                       ("case.unit_arrived", arrived)]  # fmt: skip
            if reopened:
                moments.append(("case.reopened", verified - timedelta(minutes=30)))
            moments += [("case.verified", verified), ("case.archived", archived)]
            for seq, (kind, at) in enumerate(moments, start=1):
                if at < NOW:
                    events.append((case_id, seq, kind, at, "bench", "{}"))
            if closed:
                level = rng.choice(["satisfied", "satisfied", "basically_satisfied", None])
                evaluations.append((case_id, level, "bench", archived))
        await conn.copy_records_to_table("cases", records=cases, columns=CASE_COLUMNS)
        await conn.copy_records_to_table(
            "case_events", records=events, columns=["case_id", "seq", "type", "at", "actor", "data"]
        )
        await conn.copy_records_to_table(
            "case_evaluations",
            records=evaluations,
            columns=["case_id", "satisfaction", "evaluated_by", "evaluated_at"],
        )
        await conn.execute("ANALYZE")
        return len(events), townships
    finally:
        await conn.close()


async def timed(repeat: int, read: Callable[[], Awaitable[object]]) -> float:
    """The median wall time of `repeat` runs of `read`, in milliseconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        await read()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


async def measure(url: str, count: int, repeat: int) -> None:
    """Seed, then time each read for the county and one township."""
    n_events, townships = await seed(url, count)
    print(f"{count} cases, {n_events} events over 30 days")
    conn = await asyncpg.connect(url)
    try:
        midnight = kpi_queries.local_midnight(NOW)
        for scope in ("320118000000", townships[0]):
            reads: dict[str, Callable[[], Awaitable[object]]] = {
                "period figures, 30 days": lambda s=scope: kpi_queries.period_kpis(
                    conn, s, midnight - timedelta(days=29), NOW
                ),
                "trend, 24 hours": lambda s=scope: kpi_queries.trend(conn, s, last_24_hours(NOW)),
                "trend, 30 days": lambda s=scope: kpi_queries.trend(
                    conn, s, last_30_days(midnight + timedelta(days=1))
                ),
            }
            for name, read in reads.items():
                print(f"{scope} {name}: {await timed(repeat, read):.0f} ms (median)")
        start = midnight - timedelta(days=29)
        for part in ("case_facts", "case_times", "verdicts", "evaluations"):
            fn = getattr(kpi_queries, part)
            args = (start,) if part == "case_facts" else (start, NOW)
            ms = await timed(repeat, lambda f=fn, a=args: f(conn, "320118000000", *a))
            print(f"  county 30 days, {part}: {ms:.0f} ms")
        figures = await kpi_queries.period_kpis(
            conn, "320118000000", midnight - timedelta(days=29), NOW
        )
        print(json.dumps({"dispatch": figures.time_to_dispatch.median_s,
                          "arrival": figures.time_to_arrival.median_s,
                          "verified": figures.verification_pass_rate,
                          "satisfied": figures.satisfaction.rate}))  # fmt: skip
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with _support.bench_database() as (_, database_url):
        asyncio.run(measure(database_url, args.cases, args.repeat))
