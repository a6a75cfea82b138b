"""Server-side offline detection over 20,000 cameras against the real Redis: time per scan.

Three situations: a quiet county (nobody silent: the every-few-seconds cost), a few cameras
falling silent between scans, and a whole network gone at once (a township's power cut,
every camera past its deadline). Beside it, the plain alternative the sorted set replaces:
read every camera's latest status (HGETALL) and compare in Python.

Usage: .venv/bin/python bench/bench_camera_keepalive.py [--cameras 20000] [--scans 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import redis.asyncio as aioredis

import _support  # noqa: F401  (puts the project on sys.path)
from realtime.camera_keepalive import KeepaliveScanner
from realtime.streams import StreamNames
from tests.services import server_urls, unique


def camera_ids(count: int) -> list[str]:
    """GB/T 28181-shaped ids of a county's cameras."""
    return [f"32011800001320{n:06d}" for n in range(count)]


def report(label: str, samples: list[float], extra: str = "") -> None:
    p50, p99 = np.percentile(np.array(samples) * 1000, [50, 99])
    print(f"{label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(samples)} scans{extra}")


async def bench(redis_url: str, count: int, scans: int) -> None:
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    names = StreamNames(unique("bench:") + ":")
    ids = camera_ids(count)
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    scanner = KeepaliveScanner(redis, names)
    try:
        # Everyone heard within the last keepalive interval, as in a healthy network.
        rng = np.random.default_rng(1)
        seen = {c: now_ms - int(rng.uniform(0, 60_000)) for c in ids}
        await redis.zadd(names.cameras_seen, seen)  # type: ignore[arg-type]
        latest = {
            c: json.dumps({"camera_id": c, "status": "online", "at_ms": ms})
            for c, ms in seen.items()
        }
        await redis.hset(names.cameras_latest, mapping=latest)  # type: ignore[arg-type]

        quiet = []
        for _ in range(scans):
            t0 = time.perf_counter()
            marked = await scanner.scan(now)
            quiet.append(time.perf_counter() - t0)
            assert marked == 0
        report(f"{count:,} cameras, nobody silent", quiet)

        few, per_scan, marked_total = [], 20, 0
        for k in range(scans):
            silent = ids[k * per_scan : (k + 1) * per_scan]
            await redis.zadd(names.cameras_seen, dict.fromkeys(silent, now_ms - 200_000))
            t0 = time.perf_counter()
            marked_total += await scanner.scan(now)
            few.append(time.perf_counter() - t0)
        assert marked_total == scans * per_scan
        report(f"{count:,} cameras, {per_scan} fell silent since the last scan", few)

        await redis.delete(names.cameras)
        everyone = []
        for _ in range(5):
            await redis.zadd(names.cameras_seen, dict.fromkeys(ids, now_ms - 200_000))
            await redis.delete(names.cameras)
            t0 = time.perf_counter()
            marked = await scanner.scan(now)
            everyone.append(time.perf_counter() - t0)
            assert marked == count
        report(f"{count:,} cameras, all silent at once ({count:,} offline notices)", everyone)

        naive = []
        cutoff = now_ms - int(timedelta(minutes=3).total_seconds() * 1000)
        for _ in range(max(10, scans // 10)):
            t0 = time.perf_counter()
            values = await redis.hgetall(names.cameras_latest)  # type: ignore[misc]
            silent_ids = [k for k, v in values.items() if json.loads(v)["at_ms"] < cutoff]
            naive.append(time.perf_counter() - t0)
        report(
            f"for comparison, HGETALL {count:,} latest statuses + filter in Python",
            naive,
            f" ({len(silent_ids)} silent)",
        )
    finally:
        keys = [k async for k in redis.scan_iter(match=names.prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=20_000)
    parser.add_argument("--scans", type=int, default=200)
    args = parser.parse_args()
    with server_urls() as (redis_url, _):
        asyncio.run(bench(redis_url, args.cameras, args.scans))


if __name__ == "__main__":
    main()
