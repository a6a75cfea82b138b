"""Dispatches per second on real PostgreSQL: the case's dispatch and the unit's status change
in one transaction (CaseService.dispatch_unit), and the p99 latency of one dispatch.

Usage: .venv/bin/python bench/bench_dispatch.py [--cases 2000] [--concurrency 16]
Opens and accepts N cases (untimed), adds units so that each dispatch takes a distinct
available one (the demo fleet plus patrol cars), then `concurrency` officers dispatch at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta

from bench_commands import CPU_SPLIT, NOW, _cpu_seconds, print_rate, reports

import _support  # noqa: F401  (puts the project on sys.path)
from _support import bench_database
from geo.pack import load_demo_pack
from incidents.commands import Accept
from incidents.store.demo_fleet import load_demo_units
from incidents.store.intake_store import form_pending
from incidents.store.pending_reports import receive_reports
from incidents.store.pool import create_pool
from incidents.store.service import CaseService
from incidents.store.unit_store import insert_units, unit_records
from incidents.units import UnitStatus, UnitType, make_unit


async def run(database_url: str, cases: int, concurrency: int) -> tuple[float, list[float]]:
    pool = await create_pool(database_url, min_size=concurrency, max_size=concurrency)
    pack = load_demo_pack()
    ids: list[int] = []
    batch = reports(cases)
    async with pool.acquire() as conn:
        for start in range(0, len(batch), 500):
            await receive_reports(conn, batch[start : start + 500])
            formed = await form_pending(conn, 500)
            ids.extend(json.loads(e.payload)["case_id"] for e in formed.events)
        await load_demo_units(conn, pack, at=NOW)
        have = len(await unit_records(conn))
        towns = [t.code for t in pack.townships]
        extra = [
            make_unit(
                f"bench-car-{n}",
                f"测试{n:05d}",
                UnitType.PATROL_CAR,
                towns[n % len(towns)],
                f"车{n}",
            )
            for n in range(max(0, cases - have))
        ]
        await insert_units(conn, [(u, UnitStatus.AVAILABLE) for u in extra], NOW)
        unit_ids = [r.unit.unit_id for r in await unit_records(conn)][:cases]
    service = CaseService(pool, None)
    for case_id in ids:
        await service.execute(case_id, Accept(actor="duty-0"), now=NOW)
    work: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for case_id, unit_id in zip(ids, unit_ids, strict=False):
        work.put_nowait((case_id, unit_id))
    latencies: list[float] = []

    async def officer(n: int) -> None:
        while not work.empty():
            case_id, unit_id = work.get_nowait()
            started = time.perf_counter()
            await service.dispatch_unit(
                case_id,
                unit_id,
                actor=f"duty-{n}",
                now=NOW + timedelta(minutes=1),
                recommendation_rank=1 + case_id % 5,
            )
            latencies.append(time.perf_counter() - started)

    client_cpu, server_cpu = _cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(officer(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    client_after, server_after = _cpu_seconds()
    CPU_SPLIT.update(client=client_after - client_cpu, server=server_after - server_cpu)
    async with pool.acquire() as conn:
        dispatched = await conn.fetchval(
            "SELECT count(*) FROM unit_states WHERE status = 'dispatched'"
        )
        events = await conn.fetchval("SELECT count(*) FROM unit_status_history")
    await pool.close()
    if dispatched != len(latencies) or events != len(latencies):
        raise SystemExit(f"{len(latencies)} dispatches but {dispatched} units / {events} events")
    return len(latencies) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with bench_database() as (_, database_url):
        rate, latencies = asyncio.run(run(database_url, args.cases, args.concurrency))
    what = "case + unit status, one transaction each"
    print_rate(what, ("dispatch", "dispatches"), args.concurrency, rate, latencies)


if __name__ == "__main__":
    main()
