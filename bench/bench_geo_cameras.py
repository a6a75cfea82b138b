"""Camera queries on the demo pack's 5,000 cameras and on the 20,000-camera variant.

Usage: .venv/bin/python bench/bench_geo_cameras.py [--queries 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_geo_lookup import sample_points

from geo.camera_variants import cameras_for_pack
from geo.coverage import CameraIndex
from geo.pack import load_demo_pack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    pack = load_demo_pack()
    started = time.perf_counter()
    big = cameras_for_pack(pack, 20_000)
    print(f"generate 20,000-camera variant: {time.perf_counter() - started:.2f} s ({len(big):,})")
    lons, lats = sample_points(args.queries, 0.0, seed=5)
    for label, cameras in (("demo", pack.cameras), ("variant", big)):
        index = CameraIndex.from_pack(pack, cameras)
        online = {c.code for c in cameras[::10]} ^ {c.code for c in cameras}  # 90 % online
        for name, query in (
            ("seeing", lambda x, y, i=index, o=online: i.seeing(x, y, o)),
            ("near 300 m", lambda x, y, i=index, o=online: i.near(x, y, 300, o)),
        ):
            samples = []
            for x, y in zip(lons.tolist(), lats.tolist(), strict=True):
                t0 = time.perf_counter()
                query(x, y)
                samples.append(time.perf_counter() - t0)
            p50, p99 = np.percentile(np.array(samples) * 1e6, [50, 99])
            print(f"{label} {len(cameras):,} cameras, {name}: p50 {p50:.0f} µs, p99 {p99:.0f} µs")
        started = time.perf_counter()
        coverage = index.township_coverage(pack, online)
        mean_share = sum(c.road_share for c in coverage) / len(coverage)
        print(
            f"{label} township coverage (roads + places, 8 townships): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms, mean road share {mean_share:.0%}"
        )


if __name__ == "__main__":
    main()
