"""Loading the demo county pack from disk (and building the indexes on top of it).

Usage: .venv/bin/python bench/bench_geo_pack.py [--runs 5]
Target (issue 5): load the demo pack from disk <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.coverage import CameraIndex
from geo.locate import Locator
from geo.pack import demo_pack_path, load_pack
from geo.routing import Router

T = TypeVar("T")


def timed(label: str, runs: int, build: Callable[[], T]) -> T:
    """Run build() `runs` times; print median and worst; return the last result."""
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        result = build()
        durations.append(time.perf_counter() - started)
    print(f"{label}: median {statistics.median(durations):.3f} s, worst {max(durations):.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pack = timed(
        "load_pack (validated, all layers)", args.runs, lambda: load_pack(demo_pack_path())
    )
    print(
        f"  {len(pack.townships)} townships, {len(pack.villages)} villages, "
        f"{len(pack.grids)} grids, {len(pack.roads)} roads, "
        f"{len(pack.places)} places, {len(pack.cameras)} cameras"
    )
    timed("Locator.from_pack", args.runs, lambda: Locator.from_pack(pack))
    timed("Router.from_pack", args.runs, lambda: Router.from_pack(pack))
    timed("CameraIndex.from_pack", args.runs, lambda: CameraIndex.from_pack(pack))


if __name__ == "__main__":
    main()
