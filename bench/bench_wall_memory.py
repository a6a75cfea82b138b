"""The wall page's JS heap over a long busy run: does it stay flat?

Usage: .venv/bin/python bench/bench_wall_memory.py [--minutes 5] [--rate 100] [--positions 200]
       [--cases 1000]
The real stack (worker, gateway, dashboard with the wall wired in, KPIs every 5 s), the wall
open in headless Chromium with a display token; case events XADDed straight onto `events`
at `rate`/s for `cases` case ids in turn (a fifth of them closing, so cases come and go as in
a county), unit positions at `positions`/s for the demo fleet. Every 15 s the page's heap is
measured after a forced garbage collection (CDP HeapProfiler.collectGarbage, then
Runtime.getHeapUsage), with the DOM node count. Prints start, end, and the slope after the
first minute (warm-up: the cases and units fill in).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import redis
from playwright.sync_api import CDPSession

from _support import bench_database
from geo.pack import load_demo_pack
from incidents.store.accounts import DISPLAY_COOKIE, create_display_token
from incidents.store.demo_fleet import load_demo_units
from tests.browser import browser
from tests.services import unique
from tests.stack import running_stack

TOWNSHIPS = [("320118001000", "淳溪街道"), ("320118101000", "阳江镇"), ("320118102000", "砖墙镇")]


def case_event(serial: int, case_id: int, rng: random.Random) -> bytes:
    """A case event shaped like the store's (the public case view), open or closing."""
    township, name = TOWNSHIPS[case_id % len(TOWNSHIPS)]
    now = datetime.now(UTC)
    closing = rng.random() < 0.2
    return msgspec.json.encode(
        {
            "schema": "event/1",
            "type": "case.archived" if closing else "case.opened",
            "at": now,
            "actor": "bench",
            "case_id": case_id,
            "case": {
                "id": case_id,
                "case_no": f"320118-20261202-{case_id:05d}",
                "channel": "110",
                "category": "dispute",
                "severity": 1 + case_id % 4,
                "summary": "邻里纠纷",
                "address": None,
                "lon": rng.uniform(118.8, 119.1),
                "lat": rng.uniform(31.27, 31.45),
                "inside_county": True,
                "township_code": township,
                "township_name": name,
                "village_code": None,
                "village_name": None,
                "grid_code": None,
                "step": "intake",
                "status": "archived" if closing else "open",
                "owning_tier": "township",
                "owner": None,
                "report_count": 1,
                "deadline_at": now + timedelta(minutes=rng.choice([-5, 30])),
                "version": serial,
                "reported_at": now,
                "opened_at": now,
            },
        }
    )


def paced(
    redis_url: str,
    prefix: str,
    rates: tuple[float, float],
    event_of: Callable[[int], bytes],
    fix_of: Callable[[int], dict[str, object]],
    stop: threading.Event,
) -> None:
    """XADD the n-th event and the n-th unit fix at (events/s, fixes/s) until `stop`."""
    client = redis.Redis.from_url(redis_url)
    start = time.monotonic()
    events = fixes = 0
    while not stop.is_set():
        elapsed = time.monotonic() - start
        due_events = max(0, int(elapsed * rates[0]) - events)
        due_fixes = max(0, int(elapsed * rates[1]) - fixes)
        pipe = client.pipeline(transaction=False)
        for n in range(events, events + due_events):
            pipe.xadd(prefix + "events", {"data": event_of(n)}, maxlen=100_000, approximate=True)
        for n in range(fixes, fixes + due_fixes):
            fix = msgspec.json.encode(fix_of(n))
            pipe.xadd(prefix + "positions", {"data": fix}, maxlen=100_000, approximate=True)
        pipe.execute()
        events += due_events
        fixes += due_fixes
        time.sleep(0.05)
    client.close()


def heap_mb(cdp: CDPSession) -> float:
    """The page's JS heap in use after a forced garbage collection, in MB."""
    cdp.send("HeapProfiler.collectGarbage")
    return float(cdp.send("Runtime.getHeapUsage")["usedSize"]) / 2**20


def offer(
    redis_url: str, prefix: str, units: list[str], args: argparse.Namespace, stop: threading.Event
) -> None:
    """Feed case events and positions (anywhere in the county) at the asked rates."""
    rng = random.Random(14)

    def fix_of(n: int) -> dict[str, object]:
        return {
            "unit_id": units[n % len(units)],
            "lon": rng.uniform(118.8, 119.1),
            "lat": rng.uniform(31.27, 31.45),
            "at": datetime.now(UTC).isoformat(),
        }

    def event_of(n: int) -> bytes:
        return case_event(n, n % args.cases + 1, rng)

    paced(redis_url, prefix, (args.rate, args.positions), event_of, fix_of, stop)


async def prepare(database_url: str) -> tuple[str, list[str]]:
    """Load the demo fleet and issue a county wall's token."""
    conn = await asyncpg.connect(database_url)
    try:
        now = datetime.now(UTC)
        await load_demo_units(conn, load_demo_pack(), at=now)
        units = [r["unit_id"] for r in await conn.fetch("SELECT unit_id FROM units")]
        token = await create_display_token(conn, "bench wall", "320118000000", "bench", now)
        return token, units
    finally:
        await conn.close()


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    sxx = sum((t - mx) ** 2 for t, _ in samples)
    sxy = sum((t - mx) * (v - my) for t, v in samples)
    return 60 * sxy / sxx if sxx else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--positions", type=float, default=200)
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    with bench_database() as (redis_url, database_url):
        token, units = asyncio.run(prepare(database_url))
        prefix = unique("bench-wall:") + ":"
        with (
            running_stack(
                redis_url,
                database_url,
                prefix,
                extra_env={"PINGAN_KPI_SECONDS": "5"},
            ) as stack,
            browser() as chromium,
        ):
            context = chromium.new_context(viewport={"width": 1920, "height": 1080})
            context.add_cookies([{"name": DISPLAY_COOKIE, "value": token, "url": stack.base_url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(stack.base_url + "/wall")
            page.wait_for_selector("#wall-link.live", timeout=30_000)
            cdp = context.new_cdp_session(page)
            stop = threading.Event()
            feeder = threading.Thread(target=offer, args=(redis_url, prefix, units, args, stop))
            feeder.start()
            samples: list[tuple[float, float, int]] = []
            start = time.monotonic()
            try:
                while time.monotonic() - start < args.minutes * 60:
                    page.wait_for_timeout(15_000)
                    used = heap_mb(cdp)
                    nodes = page.evaluate("() => document.getElementsByTagName('*').length")
                    held = page.evaluate("() => pinganWall.cases.size")
                    samples.append((time.monotonic() - start, used, nodes))
                    at = samples[-1][0]
                    print(f"{at:6.0f} s  heap {used:6.2f} MB  nodes {nodes:5d}  cases {held}")
            finally:
                stop.set()
                feeder.join()
            live = page.evaluate("() => document.getElementById('wall-link').className")
            warm = [(t, v) for t, v, _ in samples if t >= 60] or [(t, v) for t, v, _ in samples]
            print(
                f"wall heap: start {samples[0][1]:.2f} MB, end {samples[-1][1]:.2f} MB, "
                f"slope after warm-up {slope_per_minute(warm):+.3f} MB/min; DOM nodes "
                f"{samples[0][2]} → {samples[-1][2]}; {args.rate:g} events/s, "
                f'{args.positions:g} fixes/s, {args.minutes:g} min; link class "{live}"; '
                f"page errors {len(errors)}"
            )


if __name__ == "__main__":
    main()
