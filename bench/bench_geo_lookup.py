"""Point -> grid lookup: batch throughput and single-lookup latency on the demo pack.

Usage: .venv/bin/python bench/bench_geo_lookup.py [--points 200000] [--outside-share 0.05]
Target (issue 5): >= 100,000 lookups/s in batch, p99 single lookup <= 50 µs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.locate import Locator
from geo.pack import load_demo_pack


def sample_points(count: int, outside_share: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points inside the county, plus a share just outside it (within 5 km)."""
    pack = load_demo_pack()
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = pack.boundary.bounds
    n_out = int(count * outside_share)
    inside_x: list[np.ndarray] = []
    inside_y: list[np.ndarray] = []
    got = 0
    while got < count - n_out:
        x = rng.uniform(minx, maxx, count)
        y = rng.uniform(miny, maxy, count)
        keep = shapely.contains_xy(pack.boundary, x, y)
        inside_x.append(x[keep])
        inside_y.append(y[keep])
        got += int(keep.sum())
    xs = np.concatenate(inside_x)[: count - n_out]
    ys = np.concatenate(inside_y)[: count - n_out]
    ring = pack.boundary.buffer(0.05).difference(pack.boundary)
    out_x, out_y = [], []
    while len(out_x) < n_out:
        x, y = rng.uniform(minx - 0.05, maxx + 0.05), rng.uniform(miny - 0.05, maxy + 0.05)
        if ring.contains(shapely.Point(x, y)):
            out_x.append(x)
            out_y.append(y)
    order = rng.permutation(count)
    return np.concatenate([xs, out_x])[order], np.concatenate([ys, out_y])[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--outside-share", type=float, default=0.05)
    args = parser.parse_args()

    pack = load_demo_pack()
    started = time.perf_counter()
    locator = Locator.from_pack(pack)
    print(f"locator build: {time.perf_counter() - started:.2f} s ({len(pack.grids)} grids)")
    lons, lats = sample_points(args.points, args.outside_share)
    lon_list, lat_list = lons.tolist(), lats.tolist()

    locator.locate_many(lon_list[:1000], lat_list[:1000])  # warm-up
    started = time.perf_counter()
    placements = locator.locate_many(lon_list, lat_list)
    elapsed = time.perf_counter() - started
    outside = sum(not p.inside for p in placements)
    print(
        f"batch locate_many: {len(lon_list):,} points in {elapsed:.3f} s = "
        f"{len(lon_list) / elapsed:,.0f} points/s ({outside:,} outside)"
    )

    samples = np.empty(min(len(lon_list), 100_000))
    clock = time.perf_counter_ns
    for i in range(len(samples)):
        t0 = clock()
        locator.locate(lon_list[i], lat_list[i])
        samples[i] = clock() - t0
    p50, p99, p999 = np.percentile(samples, [50, 99, 99.9]) / 1000
    print(
        f"single locate: p50 {p50:.1f} µs, p99 {p99:.1f} µs, p99.9 {p999:.1f} µs "
        f"over {len(samples):,} lookups"
    )


if __name__ == "__main__":
    main()
