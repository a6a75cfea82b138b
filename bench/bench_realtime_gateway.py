"""XADD → delta at many websocket screens, with reports and unit positions flowing together.

Usage: .venv/bin/python bench/bench_realtime_gateway.py [--clients 200] [--rate 1000]
       [--positions 1000] [--seconds 20]
Real processes as `app.py run` starts them: one ingest worker, one case former, one gateway,
and client processes holding the websocket screens (county scope, batch mode). Two delays per
delta: from the report's XADD on `intake` (end to end), and from the event's XADD on
`events` (the gateway's own share).
Gaps: every screen must receive every report published after it subscribed, in stream order.

Where the time goes: every process on the two cores is the product's (ingest worker, case
former, gateway, PostgreSQL, Redis) or the bench's own (the client processes holding the
screens, and this process offering the load). The bench prints each one's CPU over the
offered window and the machine's idle share, and how late the client processes' event loops
ran: a delay measured in a client that was itself busy includes that lateness.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import time
from array import array
from typing import Any

import msgspec
import psutil
import redis.asyncio as aioredis
from _realtime import FORMER, GATEWAY, INTAKE_WORKER, percentile, processes

from _support import bench_database
from realtime.streams import StreamNames
from tests.services import unique
from tests.stack import free_port

WARM_UP_SECONDS = 3.0


class _Event(msgspec.Struct):
    source_id: str | None = None


class _Delta(msgspec.Struct):
    id: str
    event: _Event


class _Message(msgspec.Struct):
    type: str
    deltas: list[_Delta] = []
    last_id: str | None = None


def _screens(url: str, count: int, measuring: int, seconds: float, queue: Any) -> None:
    """A client process: `count` screens; sends back delays, counts and gap findings."""
    asyncio.run(_run_screens(url, count, measuring, seconds, queue))


async def _run_screens(url: str, count: int, measuring: int, seconds: float, queue: Any) -> None:
    from websockets.asyncio.client import connect

    decoder = msgspec.json.Decoder(_Message)
    end_to_end = array("f")
    gateway_only = array("f")
    results: list[tuple[int, int, int, bool]] = []

    async def screen(measure: bool) -> None:
        """Measuring screens decode every delta; the others only count them (cheap bytes.count),
        because every screen lives on the same two cores as the system under test."""
        received = positions = distinct = 0
        ordered = True
        last = (0, 0)
        seen: set[int] = set()
        async with connect(url, max_size=2**24, compression=None) as ws:
            await ws.send('{"type":"subscribe","scope":"320118","batch":true}')
            deadline = time.time() + seconds
            while time.time() < deadline:
                try:
                    raw = await asyncio.wait_for(
                        ws.recv(decode=False), max(0.01, deadline - time.time())
                    )
                except TimeoutError:
                    break
                now = time.time() * 1000
                if raw.startswith(b'{"type":"positions"'):
                    positions += 1
                    continue
                if not measure:
                    received += raw.count(b'"source_id":"gw-')
                    continue
                message = decoder.decode(raw)
                for delta in message.deltas:
                    ms, _, seq = delta.id.partition("-")
                    key = (int(ms), int(seq))
                    ordered = ordered and key > last
                    last = key
                    source = delta.event.source_id or ""
                    if source.startswith("gw-"):
                        _, serial, sent_ms = source.split("-")
                        seen.add(int(serial))
                        received += 1
                        end_to_end.append(now - int(sent_ms))
                        gateway_only.append(now - key[0])
        distinct = len(seen) if measure else received
        results.append((received, distinct, positions, ordered))

    lags = array("f")

    async def loop_lag() -> None:
        """How late this process's event loop wakes a 10 ms sleeper (its own CPU pressure)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - started - 0.01) * 1000)

    lagging = asyncio.ensure_future(loop_lag())
    outcomes = await asyncio.gather(
        *(screen(n < measuring) for n in range(count)), return_exceptions=True
    )
    lagging.cancel()
    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    queue.put((results, end_to_end.tobytes(), gateway_only.tobytes(), failures, lags.tobytes()))


def _report(serial: int, sent_ms: int, rng: random.Random) -> bytes:
    return msgspec.json.encode(
        {
            "schema": "intake/1",
            "source_id": f"gw-{serial}-{sent_ms}",
            "channel": "110",
            "category": "public_security",
            "summary": "老街附近有人酒后滋事，与路人发生推搡",
            "location": {"lon": rng.uniform(118.85, 119.1), "lat": rng.uniform(31.28, 31.42)},
            "reported_at": "2026-11-26T10:00:00+08:00",
        }
    )


def _direct_event(serial: int, sent_ms: int, rng: random.Random) -> bytes:
    """A case.opened event shaped like the ingest worker's, for --direct runs."""
    return msgspec.json.encode(
        {
            "event_id": serial,
            "schema": "event/1",
            "type": "case.opened",
            "at": "2026-11-26T02:00:00.000+00:00",
            "actor": "system:ingest",
            "case_id": serial,
            "source_id": f"gw-{serial}-{sent_ms}",
            "case": {
                "id": serial,
                "case_no": f"320118-20261126-{serial:04d}",
                "category": "public_security",
                "severity": 3,
                "summary": "老街附近有人酒后滋事，与路人发生推搡",
                "lon": rng.uniform(118.85, 119.1),
                "lat": rng.uniform(31.28, 31.42),
                "township_code": "320118001000",
                "township_name": "淳溪街道",
                "step": "intake",
                "status": "open",
            },
        }
    )


async def _offer(
    redis: aioredis.Redis,
    names: StreamNames,
    rate: float,
    positions: float,
    seconds: float,
    direct: bool,
) -> int:
    """Reports and positions at their rates, in 5 ms ticks; return reports sent."""
    rng = random.Random(11)
    start = time.monotonic()
    reports = fixes = 0
    units = 2000
    while (elapsed := time.monotonic() - start) < seconds:
        due_reports = int(elapsed * rate) - reports
        due_fixes = int(elapsed * positions) - fixes
        if due_reports > 0 or due_fixes > 0:
            now_ms = int(time.time() * 1000)
            async with redis.pipeline(transaction=False) as pipe:
                for n in range(reports, reports + max(0, due_reports)):
                    if direct:
                        pipe.xadd(names.events, {"data": _direct_event(n, now_ms, rng)})
                    else:
                        pipe.xadd(names.intake, {"data": _report(n, now_ms, rng)})
                for n in range(fixes, fixes + max(0, due_fixes)):
                    unit = n % units
                    fix = {
                        "unit_id": f"unit-{unit}",
                        "lon": 118.85 + (unit % 50) * 0.005 + rng.uniform(0, 0.001),
                        "lat": 31.28 + (unit // 50) * 0.003,
                        "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                    }
                    pipe.xadd(names.positions, {"data": msgspec.json.encode(fix)})
                await pipe.execute()
            reports += max(0, due_reports)
            fixes += max(0, due_fixes)
        await asyncio.sleep(0.005)
    return reports


async def run(
    redis_url: str,
    database_url: str,
    clients: int,
    rate: float,
    positions: float,
    seconds: float,
    client_processes: int,
    measure: int,
    direct: bool,
) -> None:
    names = StreamNames(unique("bench:gw:") + ":")
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    ws_port = free_port()
    # As `app.py run` starts them: an ingest worker, a case former, the gateway.
    stack = [INTAKE_WORKER, FORMER, GATEWAY]
    with processes(
        stack,
        redis_url,
        database_url,
        names,
        PINGAN_WS_PORT=str(ws_port),
        PINGAN_GATEWAY_REQUIRE_SESSION="0",
    ) as started:
        await asyncio.sleep(5)  # they load the county pack
        gateway = psutil.Process(started[2].pid)
        url = f"ws://127.0.0.1:{ws_port}/live"
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        per_process = [clients // client_processes] * client_processes
        per_process[0] += clients - sum(per_process)
        listen = seconds + WARM_UP_SECONDS + 15
        measuring = max(1, measure // client_processes)
        workers = [
            context.Process(target=_screens, args=(url, n, measuring, listen, queue))
            for n in per_process
        ]
        for worker in workers:
            worker.start()
        await asyncio.sleep(WARM_UP_SECONDS + 1)
        groups = {
            "ingest worker": [psutil.Process(started[0].pid)],
            "case former": [psutil.Process(started[1].pid)],
            "gateway": [gateway],
            "PostgreSQL": _named("postgres"),
            "Redis": _named("redis-server"),
            "bench: screen clients": [psutil.Process(w.pid) for w in workers if w.pid],
            "bench: load offerer": [psutil.Process()],
        }
        before = {name: _cpu(procs) for name, procs in groups.items()}
        machine_before = psutil.cpu_times()
        offered_at = time.monotonic()
        sent = await _offer(redis, names, rate, positions, seconds, direct)
        window = time.monotonic() - offered_at
        cpu = {name: _cpu(procs) - before[name] for name, procs in groups.items()}
        machine_after = psutil.cpu_times()
        idle = (machine_after.idle - machine_before.idle) / (window * psutil.cpu_count())
        gateway_cpu = cpu["gateway"] / window * 100
        rss = gateway.memory_info().rss
        outcomes = [queue.get(timeout=listen + 60) for _ in workers]
        for worker in workers:
            worker.join()
    keys = [k async for k in redis.scan_iter(match=names.prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()

    screens: list[tuple[int, int, int, bool]] = []
    end_to_end: list[float] = []
    gateway_only: list[float] = []
    failures: list[str] = []
    lags: list[float] = []
    for results, e2e, gw, failed, lag in outcomes:
        lags.extend(array("f", lag))
        failures.extend(failed)
        screens.extend(results)
        end_to_end.extend(array("f", e2e))
        gateway_only.extend(array("f", gw))
    complete = sum(1 for _, distinct, _, _ in screens if distinct == sent)
    duplicates = sum(received - distinct for received, distinct, _, _ in screens)
    disordered = sum(1 for *_, ordered in screens if not ordered)
    position_messages = sum(p for _, _, p, _ in screens) / max(1, len(screens))
    print(
        f"screens                     {len(screens)} (county scope, batch mode; {measure} measure)"
    )
    if failures:
        print(f"screens that failed         {len(failures)}: {failures[:3]}")
    print(f"offered                     {rate:,.0f} reports/s + {positions:,.0f} positions/s")
    if direct:
        print("                            (events XADDed directly: the gateway alone)")
    print(f"reports sent                {sent} in {seconds:.0f} s")
    print(f"screens with every report   {complete}/{len(screens)} (ids / counts)")
    print(f"duplicates / out of order   {duplicates} / {disordered} (measuring screens)")
    print(f"positions messages / screen {position_messages / seconds:.1f} per s (while offered)")
    for label, values in (
        ("XADD intake → delta", end_to_end),
        ("XADD events → delta", gateway_only),
    ):
        print(
            f"{label}   p50 {percentile(values, 0.5):.0f} ms  p99 {percentile(values, 0.99):.0f}"
            f" ms  max {max(values, default=float('nan')):.0f} ms"
        )
    print(f"gateway CPU                 {gateway_cpu:.0f} % of one core; RSS {rss / 2**20:.0f} MiB")
    print(f"CPU over the {window:.0f} s offered, by process (2 cores = 200 %):")
    product = sum(v for name, v in cpu.items() if not name.startswith("bench"))
    for name, seconds_used in cpu.items():
        print(f"  {name:<26}{seconds_used / window * 100:5.0f} %")
    print(f"  {'product in all':<26}{product / window * 100:5.0f} %")
    print(f"  {'bench in all':<26}{(sum(cpu.values()) - product) / window * 100:5.0f} %")
    print(f"  {'machine idle':<26}{idle * 200:5.0f} %")
    print(
        f"client event-loop lag       p50 {percentile(lags, 0.5):.1f} ms  p99"
        f" {percentile(lags, 0.99):.1f} ms (a busy client reads its deltas late)"
    )


def _named(name: str) -> list[psutil.Process]:
    """Every process on the machine with this name (the servers the stack uses)."""
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == name]


def _cpu(processes: list[psutil.Process]) -> float:
    """CPU seconds used so far by these processes (each PostgreSQL backend is one of its own)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--positions", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--measure", type=int, default=20, help="screens that decode deltas")
    parser.add_argument(
        "--direct", action="store_true", help="XADD events directly: the gateway alone"
    )
    args = parser.parse_args()
    with bench_database() as (redis_url, database_url):
        asyncio.run(
            run(
                redis_url,
                database_url,
                args.clients,
                args.rate,
                args.positions,
                args.seconds,
                args.client_processes,
                args.measure,
                args.direct,
            )
        )


if __name__ == "__main__":
    main()
