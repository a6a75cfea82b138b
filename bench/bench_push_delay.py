"""XADD → browser DOM delay over N reports (median, p99), through the real processes.

Usage: .venv/bin/python bench/bench_push_delay.py [--reports 100]
Starts worker + gateway + dashboard on a throwaway database and stream prefix, opens the
console in Debian's Chromium, then adds reports one at a time and waits for each row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid

import redis

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database
from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.services import unique
from tests.stack import running_stack


def document(summary: str, serial: int) -> str:
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"delay-{uuid.uuid4().hex}",
            "channel": "110",
            "category": "public_security",
            "summary": summary,
            # About 1 km apart, so the merge rule opens a case for every report.
            "location": {
                "lon": 118.80 + 0.01 * (serial % 30),
                "lat": 31.30 + 0.01 * (serial // 30),
            },
            "reported_at": "2026-11-26T21:14:05+08:00",
        },
        ensure_ascii=False,
    )


def measure(reports: int) -> list[float]:
    delays: list[float] = []
    with bench_database() as (redis_url, database_url):
        prefix = unique("delay:") + ":"
        with running_stack(redis_url, database_url, prefix) as stack:
            client = redis.Redis.from_url(redis_url)
            with browser() as chromium:
                page = chromium.new_page()
                sign_in(page, stack)  # the console serves nobody signed out
                outside = fence(page)
                page.goto(stack.base_url + "/")
                page.wait_for_selector("#link-status.live", timeout=20_000)
                for serial in range(reports):
                    tag = f"delay-probe-{serial}-{uuid.uuid4().hex[:6]}"
                    sent = time.perf_counter()
                    client.xadd(prefix + "intake", {"data": document(tag, serial)})
                    page.locator("#case-queue .ag-row", has_text=tag).wait_for(timeout=5_000)
                    delays.append(time.perf_counter() - sent)
                assert not outside, outside
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=100)
    args = parser.parse_args()
    delays = sorted(measure(args.reports))
    p99 = delays[min(len(delays) - 1, round(0.99 * len(delays)) - 1)]
    print(f"reports          {len(delays)}")
    print(f"median XADD→DOM  {statistics.median(delays) * 1000:.1f} ms")
    print(f"p99 XADD→DOM     {p99 * 1000:.1f} ms")
    print(f"max XADD→DOM     {delays[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
