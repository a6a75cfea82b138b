"""The duty console's JS heap over a long run of live updates: does it stay flat?

Usage: .venv/bin/python bench/bench_console_memory.py [--minutes 10] [--positions 500]
       [--units 2000] [--cases 2000] [--rate 1]
The real stack (worker, gateway, dashboard); `cases` real cases formed from intake; a county
duty officer's console open in headless Chromium at 1920×1080. Then, for `minutes`: fixes of
`units` units at `positions`/s on the positions stream (each unit wandering), and case
events at `rate`/s XADDed on `events` (cases opening and closing over a fixed set of 100 ids,
so the number held stays level as in a county). Every 30 s the page's heap is measured after a
forced garbage collection (CDP HeapProfiler.collectGarbage, then Runtime.getHeapUsage), with
the DOM node count and what the page holds. Prints start, end, and the slope after the first
two minutes (warm-up: the units' markers and the cases fill in).
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from datetime import UTC, datetime

import msgspec
import redis
from _console import console_screen, seed_intake, settle
from bench_wall_memory import case_event, heap_mb, paced, slope_per_minute
from playwright.sync_api import Browser

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database
from tests.browser import browser
from tests.services import unique
from tests.stack import RunningStack, running_stack

WARM_UP_S = 120
SAMPLE_S = 30
FIRST_BENCH_CASE = 5_000_000  # ids of the cases the feeder opens and closes (none in the store)


def intake_document(serial: int, rng: random.Random) -> bytes:
    """A valid intake/1 petition somewhere in the county (petitions never auto-merge)."""
    return msgspec.json.encode(
        {
            "schema": "intake/1",
            "source_id": f"mem-{serial}-{rng.getrandbits(32):08x}",
            "channel": "12345",
            "category": "petition",
            "summary": f"群众来电反映小区噪声扰民 {serial}",
            "location": {"lon": rng.uniform(118.85, 119.05), "lat": rng.uniform(31.29, 31.42)},
            "reported_at": datetime.now(UTC).isoformat(),
        }
    )


def feed(redis_url: str, prefix: str, args: argparse.Namespace, stop: threading.Event) -> None:
    """Unit fixes (each unit wandering) and case events at the asked rates until `stop`."""
    rng = random.Random(10)
    where = [[rng.uniform(118.85, 119.05), rng.uniform(31.29, 31.42)] for _ in range(args.units)]

    def fix_of(n: int) -> dict[str, object]:
        spot = where[n % args.units]
        spot[0] += rng.uniform(-0.0005, 0.0005)
        spot[1] += rng.uniform(-0.0005, 0.0005)
        at = datetime.now(UTC).isoformat()
        return {
            "unit_id": f"mem-unit-{n % args.units:04d}",
            "lon": spot[0],
            "lat": spot[1],
            "at": at,
        }

    def event_of(n: int) -> bytes:
        return case_event(n, FIRST_BENCH_CASE + n % 100, rng)

    paced(redis_url, prefix, (args.rate, args.positions), event_of, fix_of, stop)


_HELD = """() => ({
  units: window.pinganLive ? window.pinganLive.units.size : -1,
  cases: window.pinganQueue ? window.pinganQueue.count() : -1,
  nodes: document.getElementsByTagName('*').length,
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--positions", type=float, default=500)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1)
    args = parser.parse_args()
    rng = random.Random(4)
    with bench_database() as (redis_url, database_url):
        prefix = unique("bench-console-mem:") + ":"
        with running_stack(redis_url, database_url, prefix) as stack:
            client = redis.Redis.from_url(redis_url)
            seed_intake(client, prefix, (intake_document(n, rng) for n in range(args.cases)))
            # Before the browser: Playwright's sync API holds an event loop in this thread.
            cases = settle(database_url, args.cases)
            with browser() as chromium:
                watch(chromium, stack, cases, redis_url, prefix, args)
            client.close()


def watch(
    chromium: Browser,
    stack: RunningStack,
    cases: int,
    redis_url: str,
    prefix: str,
    args: argparse.Namespace,
) -> None:
    """Open the console, feed it for `minutes`, sample its heap, print the figures."""
    page, outside = console_screen(chromium, stack, cases)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    cdp = page.context.new_cdp_session(page)
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(redis_url, prefix, args, stop))
    feeder.start()
    samples: list[tuple[float, float, int]] = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < args.minutes * 60:
            page.wait_for_timeout(SAMPLE_S * 1000)
            used = heap_mb(cdp)
            held = page.evaluate(_HELD)
            at = time.monotonic() - start
            samples.append((at, used, held["nodes"]))
            print(
                f"{at:6.0f} s  heap {used:6.2f} MB  nodes {held['nodes']:5d}  "
                f"units {held['units']}  cases {held['cases']}",
                flush=True,
            )
    finally:
        stop.set()
        feeder.join()
    warm = [(t, v) for t, v, _ in samples if t >= WARM_UP_S] or [(t, v) for t, v, _ in samples]
    print(
        f"console heap: start {samples[0][1]:.2f} MB, end {samples[-1][1]:.2f} MB, "
        f"after warm-up min {min(v for _, v in warm):.2f} / max "
        f"{max(v for _, v in warm):.2f} MB, slope {slope_per_minute(warm):+.3f} MB/min; "
        f"DOM nodes {samples[0][2]} → {samples[-1][2]}; {cases} cases, "
        f"{args.units} units at {args.positions:g} fixes/s, {args.rate:g} case events/s, "
        f"{args.minutes:g} min; page errors {len(errors)}; outside requests {len(outside)}"
    )


if __name__ == "__main__":
    main()
