"""Recommendation among 2,000 real units with statuses: the fleet read from PostgreSQL, merged
with positions, ranked by road time (busy units ranked last and flagged, or left out).

Usage: .venv/bin/python bench/bench_recommend_units.py [--units 2000] [--cases 500]
The demo fleet plus units of every type up to `--units`, a quarter of them not available
(dispatched, en route, on scene, returning, busy, off duty); positions as in
bench_geo_recommend.py. Prints the store read, the merge and recommend p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np
from bench_geo_lookup import sample_points
from bench_geo_recommend import build_router, percentiles_ms, time_recommendations

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database
from geo.locate import Locator
from geo.pack import load_demo_pack
from incidents.store.demo_fleet import load_demo_units
from incidents.store.unit_store import insert_units, unit_records
from incidents.units import UnitRecord, UnitStatus, UnitType, make_unit, recommendation_inputs

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
NOT_AVAILABLE = [s for s in UnitStatus if s is not UnitStatus.AVAILABLE]


async def fleet_of(database_url: str, count: int) -> tuple[list[UnitRecord], float]:
    """`count` stored units with mixed statuses, and the seconds one full read takes."""
    pack = load_demo_pack()
    rng = np.random.default_rng(5)
    conn = await asyncpg.connect(database_url)
    try:
        await load_demo_units(conn, pack, at=NOW)
        have = len(await unit_records(conn))
        towns = [t.code for t in pack.townships]
        kinds = list(UnitType)
        extra = []
        for n in range(max(0, count - have)):
            status = (
                UnitStatus.AVAILABLE
                if rng.uniform() > 0.25
                else NOT_AVAILABLE[n % len(NOT_AVAILABLE)]
            )
            unit = make_unit(
                f"bench-{n}",
                f"测试{n:05d}",
                kinds[n % len(kinds)],
                towns[n % len(towns)],
                f"单位{n}",
            )
            extra.append((unit, status))
        await insert_units(conn, extra, NOW)
        reads = []
        for _ in range(20):
            started = time.perf_counter()
            records = await unit_records(conn)
            reads.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return records, float(np.median(reads))


def positions_at_home(records: list[UnitRecord]) -> dict[str, tuple[float, float, datetime]]:
    """A position per unit inside its own township (anywhere for county units), seen lately."""
    rng = np.random.default_rng(2)
    locator = Locator.from_pack(load_demo_pack())
    lons, lats = sample_points(4 * len(records), 0.0, 2)
    by_township: dict[str | None, list[tuple[float, float]]] = {None: []}
    for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
        by_township.setdefault(locator.locate(lon, lat).township_code, []).append((lon, lat))
        by_township[None].append((lon, lat))
    fixes = {}
    for n, record in enumerate(records):
        spots = by_township.get(record.township_code) or by_township[None]
        lon, lat = spots[n % len(spots)]
        seen = NOW - timedelta(seconds=float(rng.exponential(120)))
        fixes[record.unit.unit_id] = (lon, lat, seen)
    return fixes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=500)
    args = parser.parse_args()
    with bench_database() as (_, database_url):
        records, read_s = asyncio.run(fleet_of(database_url, args.units))
    pack = load_demo_pack()
    router = build_router(pack)
    fixes = positions_at_home(records)
    merges = []
    for _ in range(20):
        started = time.perf_counter()
        units = recommendation_inputs(records, fixes)
        merges.append(time.perf_counter() - started)
    merge_ms = float(np.median(merges)) * 1000
    busy = sum(1 for u in units if not u.available)
    print(f"units               {len(units):,} stored ({busy:,} not available)")
    print(f"store read          {read_s * 1000:.1f} ms (median of 20 full reads)")
    print(f"merge positions     {merge_ms:.1f} ms (median of 20)")
    for label, flagged in (("busy flagged", True), ("busy left out", False)):
        timings = time_recommendations(
            pack, router, units, NOW, args.cases, include_unavailable=flagged
        )
        p50, p99 = percentiles_ms(timings)
        print(f"recommend, {label:14} p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(timings)} cases")


if __name__ == "__main__":
    main()
