"""The county simulator as a load generator, and the cost of one tick of a full shift.

Usage: .venv/bin/python bench/bench_simulator.py [--rates 100,300,1000] [--seconds 5]
Uses REDIS_URL when set, an embedded Redis otherwise. Three figures:
- drafting: reports drawn and encoded per second by the feed alone (no I/O);
- load: reports per second actually written to the intake stream by `run_simulation`
  (flat rate, no units, no cameras) for each asked rate;
- shift tick: wall time of one 0.5 s tick at 60x with the default fleet (104 units on the
  road graph) and the pack's 4,999 cameras, median and p99, without the Redis write.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

import _support  # noqa: F401  (puts the project on sys.path)
from geo.pack import load_demo_pack
from realtime.sim_clock import SimClock
from realtime.sim_places import hot_spots
from realtime.sim_reports import FeedSettings, ReportFeed, encode
from realtime.simulator import SimConfig, _draw, _Shift, run_simulation
from realtime.streams import StreamNames
from tests.services import server_urls, unique


def drafting_rate(count: int) -> float:
    """Reports drawn and encoded per second."""
    feed = ReportFeed(
        hot_spots(load_demo_pack()), FeedSettings("bench", rhythm=False), random.Random(1)
    )
    start = datetime(2026, 11, 27, tzinfo=UTC)
    stamp = start
    began = time.perf_counter()
    made = 0
    second = 0
    while made < count:
        second += 1
        for draft in feed.due(start + timedelta(seconds=second), 1000.0):
            encode(draft, stamp)
            made += 1
    return made / (time.perf_counter() - began)


async def load_rate(redis_url: str, rate: float, seconds: float) -> tuple[float, int]:
    """Reports per second written at an asked rate, and the simulator's error count."""
    names = StreamNames(unique("bench-sim:") + ":")
    redis = aioredis.Redis.from_url(redis_url)
    try:
        config = SimConfig(
            seed=1,
            rate=rate,
            rhythm=False,
            units=False,
            cameras=0,
            duration_seconds=seconds,
            malformed_share=0.0,
            repeat_share=0.0,
        )
        began = time.perf_counter()
        stats = await run_simulation(config, asyncio.Event(), redis=redis, names=names)
        elapsed = time.perf_counter() - began
        written: int = await redis.xlen(names.intake)
        keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
        if keys:
            await redis.delete(*keys)
        return written / elapsed, stats.errors
    finally:
        await redis.aclose()


def tick_times(ticks: int) -> list[float]:
    """Milliseconds per drawn tick of a full shift at 60x (0.5 s wall = 30 s simulated)."""
    config = SimConfig(seed=1, speed=60, rate=0.3)
    start = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)  # 08:30 in the county: all shifts on
    clock = SimClock(start, 0.0, config.speed)
    shift = _Shift(config, load_demo_pack(), None, clock)
    times = []
    last = start
    for n in range(1, ticks + 1):
        now = clock.sim_at(n * 0.5)
        began = time.perf_counter()
        _draw(shift, now, last, n * 0.5)
        times.append((time.perf_counter() - began) * 1000)
        last = now
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="100,300,1000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--ticks", type=int, default=600)
    args = parser.parse_args()
    print(f"drafting: {drafting_rate(50_000):,.0f} reports/s (draw + encode, one core)")
    with server_urls() as (redis_url, _):
        for rate in (float(r) for r in args.rates.split(",")):
            achieved, errors = asyncio.run(load_rate(redis_url, rate, args.seconds))
            print(f"load: asked {rate:,.0f}/s -> wrote {achieved:,.0f}/s ({errors} errors)")
    times = tick_times(args.ticks)
    p99 = statistics.quantiles(times, n=100)[98]
    print(
        f"shift tick (104 units, 4,999 cameras, 60x): median {statistics.median(times):.2f} ms,"
        f" p99 {p99:.2f} ms over {len(times)} ticks (budget 500 ms)"
    )


if __name__ == "__main__":
    main()
