"""Unit recommendation latency: top 5 of 2,000 units by road time on the demo graph.

Usage: .venv/bin/python bench/bench_geo_recommend.py [--units 2000] [--cases 500]
Target (issue 5): p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_geo_lookup import sample_points

from geo.locate import Locator
from geo.pack import CountyPack, load_demo_pack
from geo.recommend import Capability, UnitPosition, recommend
from geo.routing import Router, TravelMode

CATEGORIES = ["public_security", "dispute", "fire", "traffic", "emergency", "public_service"]


def make_units(count: int, now: datetime, seed: int = 2) -> list[UnitPosition]:
    """A force mix: patrol cars, e-bike and foot patrols, mediators, fire, medical, grid staff."""
    rng = np.random.default_rng(seed)
    lons, lats = sample_points(count, 0.0, seed)
    locator = Locator.from_pack(load_demo_pack())
    kinds = [
        (TravelMode.CAR, frozenset({Capability.POLICE, Capability.TRAFFIC})),
        (TravelMode.EBIKE, frozenset({Capability.POLICE})),
        (TravelMode.FOOT, frozenset({Capability.GRID, Capability.SOCIAL_WORK})),
        (TravelMode.EBIKE, frozenset({Capability.MEDIATION})),
        (TravelMode.CAR, frozenset({Capability.FIRE, Capability.RESCUE})),
        (TravelMode.CAR, frozenset({Capability.MEDICAL})),
    ]
    units = []
    for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        mode, caps = kinds[i % len(kinds)]
        age = timedelta(seconds=float(rng.exponential(120)))
        units.append(
            UnitPosition(
                f"U{i:05d}",
                f"单位{i}",
                mode,
                caps,
                lon,
                lat,
                now - age,
                available=bool(rng.uniform() > 0.2),
                township_code=locator.locate(lon, lat).township_code,
            )
        )
    return units


def time_recommendations(
    pack: CountyPack,
    router: Router,
    units: Sequence[UnitPosition],
    now: datetime,
    cases: int,
    **options: Any,
) -> list[float]:
    """Seconds per recommendation (top 5) for `cases` case locations across the county."""
    case_lons, case_lats = sample_points(cases, 0.0, seed=3)
    locator = Locator.from_pack(pack)
    timings = []
    for i, (lon, lat) in enumerate(zip(case_lons.tolist(), case_lats.tolist(), strict=True)):
        township = locator.locate(lon, lat).township_code
        t0 = time.perf_counter()
        picks = recommend(
            router,
            lon,
            lat,
            units,
            now,
            category=CATEGORIES[i % len(CATEGORIES)],
            case_township_code=township,
            k=5,
            **options,
        )
        timings.append(time.perf_counter() - t0)
        if i == 0:
            for p in picks:
                print(f"  e.g. {p.unit_id} {p.name}: {p.reason}")
    return timings


def percentiles_ms(timings: Sequence[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    p50, p99 = np.percentile(np.array(timings) * 1000, [50, 99])
    return float(p50), float(p99)


def build_router(pack: CountyPack) -> Router:
    """The pack's router, its build time printed."""
    started = time.perf_counter()
    router = Router.from_pack(pack)
    print(
        f"router build: {time.perf_counter() - started:.3f} s "
        f"({len(pack.roads)} road sections, {router.node_count} junctions)"
    )
    return router


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=500)
    args = parser.parse_args()

    pack = load_demo_pack()
    router = build_router(pack)
    now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    units = make_units(args.units, now)
    timings = time_recommendations(pack, router, units, now, args.cases)
    p50, p99 = percentiles_ms(timings)
    print(
        f"recommend top 5 of {len(units):,} units: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"over {len(timings)} cases"
    )


if __name__ == "__main__":
    main()
