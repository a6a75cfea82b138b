"""Gateway memory with many screens connected for minutes: RSS over time, growth after warm-up.

Usage: .venv/bin/python bench/bench_realtime_memory.py [--clients 500] [--minutes 10]
       [--rate 100] [--positions 500] [--maxlen 100000]
A real gateway process (app.py gateway); events XADDed straight onto `events` (the gateway is
what is measured); screens in client processes only count what they receive. Every 10 s a
few screens disconnect and come back with `since`, as real screens do.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import time
from typing import Any

import msgspec
import psutil
import redis.asyncio as aioredis
from _realtime import GATEWAY, processes
from bench_realtime_gateway import _direct_event

from _support import bench_database
from realtime.streams import StreamNames
from tests.services import unique
from tests.stack import free_port


def _screens(url: str, count: int, seconds: float, queue: Any) -> None:
    """A client process holding `count` screens; reports deltas received and reconnects."""
    asyncio.run(_run(url, count, seconds, queue))


async def _run(url: str, count: int, seconds: float, queue: Any) -> None:
    from websockets.asyncio.client import connect

    totals = {"deltas": 0, "reconnects": 0, "failures": 0}

    async def screen(index: int) -> None:
        rng = random.Random(index)
        deadline = time.time() + seconds
        since: str | None = None
        while time.time() < deadline:
            stay = rng.uniform(30, 120)
            try:
                async with connect(url, max_size=2**24, compression=None) as ws:
                    subscribe = {"type": "subscribe", "scope": "320118", "since": since}
                    await ws.send(msgspec.json.encode({**subscribe, "batch": True}).decode())
                    leave = min(deadline, time.time() + stay)
                    while time.time() < leave:
                        try:
                            raw = await asyncio.wait_for(ws.recv(decode=False), 1)
                        except TimeoutError:
                            continue
                        marker = raw.rfind(b'{"id":"')
                        if marker >= 0:
                            end = raw.index(b'"', marker + 7)
                            since = raw[marker + 7 : end].decode()
                            totals["deltas"] += raw.count(b'{"id":"')
                        elif raw.startswith(b'{"type":"snapshot"'):
                            since = msgspec.json.decode(raw)["last_id"]
            except Exception:
                totals["failures"] += 1
                await asyncio.sleep(1)
            totals["reconnects"] += 1

    await asyncio.gather(*(screen(n) for n in range(count)))
    queue.put(totals)


async def _offer(
    redis: aioredis.Redis,
    names: StreamNames,
    rate: float,
    positions: float,
    seconds: float,
    maxlen: int,
) -> None:
    rng = random.Random(3)
    start = time.monotonic()
    events = fixes = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due_events = int(elapsed * rate) - events
        due_fixes = int(elapsed * positions) - fixes
        now_ms = int(time.time() * 1000)
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(events, events + max(0, due_events)):
                pipe.xadd(names.events, {"data": _direct_event(n, now_ms, rng)}, maxlen=maxlen)
            for n in range(fixes, fixes + max(0, due_fixes)):
                unit = n % 2000
                fix = {
                    "unit_id": f"unit-{unit}",
                    "lon": 118.85 + (unit % 50) * 0.005,
                    "lat": 31.28 + (unit // 50) * 0.003,
                    "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                }
                pipe.xadd(names.positions, {"data": msgspec.json.encode(fix)}, maxlen=maxlen)
            await pipe.execute()
        events += max(0, due_events)
        fixes += max(0, due_fixes)
        await asyncio.sleep(0.02)


async def run(
    redis_url: str,
    database_url: str,
    clients: int,
    minutes: float,
    rate: float,
    positions: float,
    maxlen: int,
) -> None:
    names = StreamNames(unique("bench:mem:") + ":")
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    ws_port = free_port()
    seconds = minutes * 60
    with processes(
        [GATEWAY],
        redis_url,
        database_url,
        names,
        PINGAN_WS_PORT=str(ws_port),
        PINGAN_GATEWAY_REQUIRE_SESSION="0",
    ) as started:
        await asyncio.sleep(4)
        gateway = psutil.Process(started[0].pid)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        url = f"ws://127.0.0.1:{ws_port}/live"
        halves = [clients // 2, clients - clients // 2]
        workers = [context.Process(target=_screens, args=(url, n, seconds, queue)) for n in halves]
        for worker in workers:
            worker.start()
        offer = asyncio.create_task(_offer(redis, names, rate, positions, seconds, maxlen))
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        while not offer.done():
            await asyncio.sleep(10)
            samples.append((time.monotonic() - start, gateway.memory_info().rss / 2**20))
            print(f"  t={samples[-1][0]:5.0f} s  gateway RSS {samples[-1][1]:6.1f} MiB", flush=True)
        totals = [queue.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join()
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    warm = [rss for t, rss in samples if t >= min(120.0, seconds / 3)]
    deltas = sum(t["deltas"] for t in totals)
    print(f"screens {clients}, {minutes:g} min, {rate:g} events/s, {positions:g} fixes/s")
    print(
        f"deltas received        {deltas:,} ({sum(t['reconnects'] for t in totals)} reconnects,"
        f" {sum(t['failures'] for t in totals)} failures)"
    )
    print(
        f"RSS after warm-up      {warm[0]:.1f} MiB → end {warm[-1]:.1f} MiB"
        f" (max {max(warm):.1f}, growth {warm[-1] - warm[0]:+.1f} MiB)"
    )
    # Python's small-object arenas grow until they hold the peak of live objects (screens
    # falling behind and catching up), then stay: how long that takes depends on the load.
    late = [rss for t, rss in samples if t >= seconds / 2]
    print(f"RSS over the 2nd half  {late[0]:.1f} MiB → {late[-1]:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--positions", type=float, default=500)
    parser.add_argument("--maxlen", type=int, default=100_000, help="MAXLEN of both streams")
    args = parser.parse_args()
    with bench_database() as (redis_url, database_url):
        asyncio.run(
            run(
                redis_url,
                database_url,
                args.clients,
                args.minutes,
                args.rate,
                args.positions,
                args.maxlen,
            )
        )


if __name__ == "__main__":
    main()
