"""Commands per second through the case service on real PostgreSQL, and p99 latency per command.

Usage: .venv/bin/python bench/bench_commands.py [--cases 2000] [--concurrency 16]
Opens N cases (spread out, so none merge), then runs accept and dispatch on each — distinct
cases, `concurrency` officers at once — and reports commands/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import psutil

import _support  # noqa: F401  (puts the project on sys.path)
from _support import ROOT, bench_database
from incidents.case import DispatchTarget
from incidents.commands import Accept, Dispatch
from incidents.reports import AcceptedReport
from incidents.store.intake_store import form_pending
from incidents.store.pending_reports import receive_reports
from incidents.store.pool import create_pool
from incidents.store.service import CaseService
from realtime.intake_contract import decode_document
from realtime.placement import locate_in

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def reports(count: int) -> list[AcceptedReport]:
    from geo.pack import load_demo_pack

    locate = locate_in(load_demo_pack())
    line = (ROOT / "tests" / "samples" / "intake-valid.jsonl").read_text().splitlines()[2]
    base = decode_document(line.encode())
    out = []
    for serial in range(count):
        lon = 118.76 + 0.004 * (serial % 100)
        lat = 31.27 + 0.004 * (serial // 100 % 50)
        place = locate(lon, lat)
        out.append(
            AcceptedReport(
                source_id=f"cmd-{serial}",
                channel=base.channel,
                category=base.category,
                severity=base.effective_severity,
                summary=base.summary,
                lon=lon,
                lat=lat,
                address=None,
                reporter_name=None,
                reporter_phone=None,
                # A day apart per 5,000, so even neighbours never fall in one merge window.
                reported_at=base.reported_at + timedelta(days=serial // 5000),
                received_at=NOW,
                place=place,
            )
        )
    return out


CPU_SPLIT: dict[str, float] = {}


def _cpu_seconds() -> tuple[float, float]:
    """CPU used so far by this process, and by every PostgreSQL process on the machine."""
    me = psutil.Process().cpu_times()
    server = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
            server += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return me.user + me.system, server


async def run(database_url: str, cases: int, concurrency: int) -> tuple[float, list[float]]:
    pool = await create_pool(database_url, min_size=concurrency, max_size=concurrency)
    ids: list[int] = []
    batch = reports(cases)
    async with pool.acquire() as conn:
        for start in range(0, len(batch), 500):
            await receive_reports(conn, batch[start : start + 500])
            formed = await form_pending(conn, 500)
            ids.extend(json.loads(e.payload)["case_id"] for e in formed.events)
    service = CaseService(pool, None)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for case_id in ids:
        queue.put_nowait(case_id)

    async def officer(n: int) -> None:
        while not queue.empty():
            case_id = queue.get_nowait()
            for command in (
                Accept(actor=f"duty-{n}"),
                Dispatch(actor=f"duty-{n}", targets=(DispatchTarget(f"patrol-{case_id % 40}"),)),
            ):
                started = time.perf_counter()
                await service.execute(case_id, command, now=NOW + timedelta(minutes=1))
                latencies.append(time.perf_counter() - started)

    client_cpu, server_cpu = _cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(officer(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    client_after, server_after = _cpu_seconds()
    CPU_SPLIT.update(client=client_after - client_cpu, server=server_after - server_cpu)
    await pool.close()
    return len(latencies) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with bench_database() as (_, database_url):
        rate, latencies = asyncio.run(run(database_url, args.cases, args.concurrency))
    what = f"accept + dispatch on {args.cases} cases"
    print_rate(what, ("command", "commands"), args.concurrency, rate, latencies)


def print_rate(
    what: str, nouns: tuple[str, str], concurrency: int, rate: float, latencies: list[float]
) -> None:
    """Throughput, latency percentiles and CPU per operation of a concurrent run."""
    noun, plural = nouns
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    p50 = statistics.median(latencies)
    print(f"{plural:<20}{len(latencies)} ({what})")
    print(f"{'concurrency':<20}{concurrency}")
    print(f"{'throughput':<20}{rate:,.0f} {plural}/s")
    print(f"{'latency p50 / p99':<20}{p50 * 1000:.1f} / {p99 * 1000:.1f} ms")
    per = 1e6 / len(latencies)
    print(
        f"{'CPU per ' + noun:<20}{CPU_SPLIT['client'] * per:.0f} µs in this process,"
        f" {CPU_SPLIT['server'] * per:.0f} µs in PostgreSQL (2 cores in all)"
    )


if __name__ == "__main__":
    main()
