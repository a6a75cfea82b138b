"""The duty console with 10,000 open cases: snapshot size, first paint, and a new case's delay.

Usage: .venv/bin/python bench/bench_console_first_paint.py [--cases 10000] [--probes 20]
Starts worker + gateway + dashboard on a throwaway database, puts the reports on the intake
stream and waits until the worker has opened them, then opens the console in Debian's
Chromium: the snapshot frame's size (as sent, and gzip-compressed for reference), the time
from navigation to every case in the grid and on the map, then XADD → visible grid row for
new cases with all the others already shown.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import time
import uuid

import asyncpg
import redis
from _console import console_screen, seed_intake, settle
from playwright.sync_api import Page

import _support  # puts the project on sys.path; its ROOT names the artefacts folder
from _support import bench_database, payloads
from incidents.store import queries
from realtime.live_protocol import CASE_FIELDS, Snapshot, case_rows, encode
from tests.browser import browser
from tests.services import unique
from tests.stack import running_stack


async def _snapshot_parts_ms(database_url: str) -> tuple[float, float]:
    """What building the county snapshot's cases costs the gateway: the read, the encoding."""
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        cases = await queries.open_cases(conn, "320118", 50_000)
        read = time.perf_counter()
        encode(
            Snapshot(scope="320118", reason="subscribe", last_id="0-0", cases=[], units=[],
                     degraded=[], case_fields=CASE_FIELDS, case_rows=case_rows(cases))
        )  # fmt: skip
        return (read - started) * 1000, (time.perf_counter() - read) * 1000
    finally:
        await conn.close()


def _probe(summary: str, serial: int) -> str:
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"paint-{uuid.uuid4().hex}",
            "channel": "110",
            "category": "traffic",
            "summary": summary,
            "location": {"lon": 118.80 + 0.01 * serial, "lat": 31.44},
            "reported_at": "2026-11-26T21:14:05+08:00",
        },
        ensure_ascii=False,
    )


# Marks when a probe's case reaches the queue code and when its row is in the grid.
_WATCH = """() => {
  const upsert = window.pinganQueue.upsert;
  window.__seen = { tag: null, arrived: null, shown: null };
  window.__watch = (tag) => { window.__seen = { tag: tag, arrived: null, shown: null }; };
  window.pinganQueue.upsert = (data, kind) => {
    const seen = window.__seen;
    if (seen.tag && seen.arrived === null && JSON.stringify(data).includes(seen.tag)) {
      seen.arrived = Date.now();
    }
    return upsert(data, kind);
  };
  new MutationObserver(() => {
    const seen = window.__seen;
    if (seen.arrived !== null && seen.shown === null) {
      const grid = document.querySelector('.ag-center-cols-container');
      if (grid && grid.textContent.includes(seen.tag)) { seen.shown = Date.now(); }
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


def measure(cases: int, probes: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with bench_database() as (redis_url, database_url):
        prefix = unique("paint:") + ":"
        with running_stack(redis_url, database_url, prefix) as stack:
            client = redis.Redis.from_url(redis_url)
            # Public-service calls scattered over the county rarely merge: one case each.
            seed_intake(client, prefix, payloads(int(cases * 1.15), seed=7))
            figures["open cases"] = settle(database_url, cases)
            read_ms, encode_ms = asyncio.run(_snapshot_parts_ms(database_url))
            figures["snapshot read ms"] = read_ms
            figures["snapshot encode ms"] = encode_ms
            with browser() as chromium:
                first: list[bytes] = []

                def watch(page: Page) -> None:
                    page.on(
                        "websocket",
                        lambda ws: ws.on(
                            "framereceived",
                            lambda payload: (
                                first.append(
                                    payload if isinstance(payload, bytes) else payload.encode()
                                )
                                if not first
                                else None
                            ),
                        ),
                    )

                total = int(figures["open cases"])
                page, outside = console_screen(chromium, stack, total, watch, 60_000)
                figures["first paint ms"] = page.evaluate("performance.now()")
                shots = _support.ROOT / "artefacts" / "screenshots"
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "console-10k-cases.png"))
                figures["snapshot applied ms"] = page.evaluate("window.pinganLive.snapshotMs")
                timings = page.evaluate("window.pinganLive.timings")
                figures["  of which queue ms"] = timings["queue"]
                figures["  of which map ms"] = timings["map"]
                figures["socket created ms"] = page.evaluate("window.pinganLive.connectAt")
                figures["socket open ms"] = page.evaluate("window.pinganLive.openAt")
                figures["snapshot arrived ms"] = page.evaluate("window.pinganLive.snapshotAt")
                figures["snapshot bytes"] = len(first[0])
                figures["snapshot gzip bytes"] = len(gzip.compress(first[0]))
                figures["bytes per case"] = len(first[0]) / max(total, 1)
                # Split each delay at the browser: when the delta reached the queue code, and
                # when the row was in the page (both on the page's clock, which is this one's).
                page.evaluate(_WATCH)
                delays: list[float] = []
                server: list[float] = []
                browser_side: list[float] = []
                for serial in range(probes):
                    tag = f"paint-probe-{serial}-{uuid.uuid4().hex[:6]}"
                    page.evaluate("(t) => window.__watch(t)", tag)
                    sent_ms = time.time() * 1000
                    sent = time.perf_counter()
                    client.xadd(prefix + "intake", {"data": _probe(tag, serial)})
                    page.locator("#case-queue .ag-row", has_text=tag).wait_for(timeout=10_000)
                    delays.append(time.perf_counter() - sent)
                    page.wait_for_function("() => window.__seen.shown !== null")
                    seen = page.evaluate("window.__seen")
                    server.append(seen["arrived"] - sent_ms)
                    browser_side.append(seen["shown"] - seen["arrived"])
                delays.sort()
                figures["new case p50 ms"] = statistics.median(delays) * 1000
                figures["new case p95 ms"] = delays[max(0, round(0.95 * len(delays)) - 1)] * 1000
                figures["  XADD→socket p50 ms"] = statistics.median(server)
                figures["  socket→row p50 ms"] = statistics.median(browser_side)
                assert not outside, outside
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    for name, value in measure(args.cases, args.probes).items():
        print(f"{name:<22}{value:>12,.1f}")


if __name__ == "__main__":
    main()
