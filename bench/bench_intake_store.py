"""The case former's store alone: `form_pending` per batch, wall time and this process's CPU.

Usage: .venv/bin/python bench/bench_intake_store.py [--batch 500] [--batches 60] [--spots 0]
No Redis in the loop: each batch of located reports is stored in `intake_pending` (untimed, as
an ingest worker does) and then formed into cases by one `form_pending` transaction (timed),
through the product's pool, so the figure is the former's ceiling. Wall time minus client
CPU is roughly PostgreSQL's share, since the two do not overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from _realtime import percentile

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database, payloads
from geo.pack import load_demo_pack
from incidents.store.intake_store import form_pending
from incidents.store.pending_reports import receive_reports
from incidents.store.pool import create_pool
from realtime.intake_contract import decode_intake
from realtime.placement import locate_in
from tests.integration.forming import accept

WARM_UP_BATCHES = 10


async def measure(database_url: str, batch: int, batches: int, spots: int) -> None:
    locate = locate_in(load_demo_pack())
    now = datetime.now(UTC)
    reports = [
        accept(decode_intake({b"data": doc}), locate, now)
        for doc in payloads(batch * batches, seed=7, spots=spots)
    ]
    pool = await create_pool(database_url, min_size=1, max_size=1)
    walls: list[float] = []
    cpus: list[float] = []
    try:
        async with pool.acquire() as conn:
            for n in range(batches):
                await receive_reports(conn, reports[n * batch : (n + 1) * batch])
                wall, cpu = time.perf_counter(), time.process_time()
                await form_pending(conn, batch)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
    finally:
        await pool.close()
    walls, cpus = walls[WARM_UP_BATCHES:], cpus[WARM_UP_BATCHES:]
    median = percentile(walls, 0.5)
    cpu = sum(cpus) / len(cpus)
    print(f"batches                 {batches} of {batch} ({WARM_UP_BATCHES} warm-up not counted)")
    p90 = percentile(walls, 0.9)
    print(f"wall per batch          p50 {median * 1e3:.1f} ms, p90 {p90 * 1e3:.1f} ms")
    print(f"client CPU per report   {cpu / batch * 1e6:.0f} µs")
    print(f"rest per report         {(median - cpu) / batch * 1e6:.0f} µs (mostly PostgreSQL)")
    print(f"store alone             {batch / median:,.0f} reports/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--spots", type=int, default=0, help="all reports about N incidents")
    args = parser.parse_args()
    with bench_database() as (_, database_url):
        asyncio.run(measure(database_url, args.batch, args.batches, args.spots))


if __name__ == "__main__":
    main()
