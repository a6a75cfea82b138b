"""Delay from XADD on `intake` to the event on `events`, at a steady offered rate.

Usage: .venv/bin/python bench/bench_realtime_latency.py [--rate 1000] [--seconds 30] [--workers 1]
                                                       [--inline-former]
Real processes as `app.py run` starts them: ingest workers and one case former (with
--inline-former, workers that form cases themselves and no former process). Delays come
from the two stream ids (Redis's own clock, 1 ms resolution). The first 3 s are warm-up and
not counted. Also prints the processes' CPU per report while offered: at a steady rate,
batches are small and their fixed cost shows. Extra PINGAN_INGEST_* variables in the
environment reach the processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

import psutil
import redis.asyncio as aioredis
from _realtime import FORMER, INTAKE_WORKER, WORKER, percentile, processes, report_document

from _support import bench_database
from realtime.streams import StreamNames
from tests.services import unique

WARM_UP_SECONDS = 3.0


def _ms(entry_id: bytes) -> int:
    return int(entry_id.split(b"-")[0])


async def offer(
    redis: aioredis.Redis, names: StreamNames, rate: float, seconds: float, sent: dict[str, int]
) -> None:
    """XADD at the rate, in 1 ms ticks; remember each report's intake id time."""
    rng = random.Random(7)
    start = time.monotonic()
    serial = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - serial
        if due > 0:
            async with redis.pipeline(transaction=False) as pipe:
                for n in range(serial, serial + due):
                    doc = report_document(
                        n, "lat", rng.uniform(118.85, 119.1), rng.uniform(31.28, 31.42)
                    )
                    pipe.xadd(names.intake, {"data": doc})
                ids = await pipe.execute()
            for n, entry_id in zip(range(serial, serial + due), ids, strict=True):
                sent[f"lat-{n}"] = _ms(entry_id)
            serial += due
        await asyncio.sleep(0.001)


async def follow(
    redis: aioredis.Redis, names: StreamNames, sent: dict[str, int], expected: int
) -> list[tuple[int, int]]:
    """(intake ms, event ms) per report, until all arrived or 30 s of silence."""
    pairs: list[tuple[int, int]] = []
    newest: Any = await redis.xrevrange(names.events, count=1)
    last = newest[0][0].decode() if newest else "0-0"  # not "$": nothing may slip past
    while len(pairs) < expected:
        response: Any = await redis.xread({names.events: last}, count=1000, block=30_000)
        if not response:
            break
        for entry_id, fields in response[0][1]:
            last = entry_id.decode()
            event = json.loads(fields[b"data"])
            source = event.get("source_id")
            if source in sent:
                pairs.append((sent[source], _ms(entry_id)))
    return pairs


async def run(
    redis_url: str, database_url: str, rate: float, seconds: float, workers: int, inline: bool
) -> None:
    names = StreamNames(unique("bench:lat:") + ":")
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    reader = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    sent: dict[str, int] = {}
    argvs = [WORKER] * workers if inline else [INTAKE_WORKER] * workers + [FORMER]
    with processes(argvs, redis_url, database_url, names) as started:
        await asyncio.sleep(4)  # the worker loads the county pack
        watched = [psutil.Process(p.pid) for p in started]
        cpu_before = sum(p.cpu_times().user + p.cpu_times().system for p in watched)
        expected = int(rate * seconds)
        follower = asyncio.create_task(follow(reader, names, sent, expected))
        await offer(redis, names, rate, seconds, sent)
        pairs = await follower
        cpu = sum(p.cpu_times().user + p.cpu_times().system for p in watched) - cpu_before
    first = min(sent.values())
    delays = [event - intake for intake, event in pairs if intake - first > WARM_UP_SECONDS * 1000]
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    await reader.aclose()
    print(f"offered                 {rate:,.0f} reports/s for {seconds:.0f} s ({len(sent)} sent)")
    former = "formers inline" if inline else "+ 1 case former"
    print(f"worker processes        {workers} {former}")
    print(f"events received         {len(pairs)}")
    print(f"delay XADD → event  p50 {percentile(delays, 0.5):.0f} ms")
    print(f"                    p90 {percentile(delays, 0.9):.0f} ms")
    print(f"                    p99 {percentile(delays, 0.99):.0f} ms")
    print(f"                    max {max(delays):.0f} ms")
    per_report = cpu / len(sent) * 1e6
    print(f"processes' CPU      {per_report:.0f} µs per report ({cpu / seconds:.0%} of a core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--inline-former", action="store_true", help="no former process")
    args = parser.parse_args()
    with bench_database() as (redis_url, database_url):
        asyncio.run(
            run(
                redis_url,
                database_url,
                args.rate,
                args.seconds,
                args.workers,
                args.inline_former,
            )
        )


if __name__ == "__main__":
    main()
