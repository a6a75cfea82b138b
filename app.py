"""Pingan Command: the composition root and command line. Holds wiring only, no logic."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from incidents.db import create_pool
from realtime.settings import Settings
from realtime.streams import StreamNames

log = logging.getLogger("pingan")


def _names(settings: Settings) -> StreamNames:
    return StreamNames(settings.stream_prefix)


def _redis(url: str) -> aioredis.Redis:
    # Blocking stream reads need no socket timeout (redis-py's 5 s default breaks BLOCK).
    return aioredis.Redis.from_url(url, socket_timeout=None)


def _require_urls(settings: Settings) -> tuple[str, str]:
    if not settings.redis_url or not settings.database_url:
        sys.exit("REDIS_URL and DATABASE_URL must be set (`python app.py run` sets them itself)")
    return settings.redis_url, settings.database_url


def _run_until_signal(main: Callable[[asyncio.Event], Awaitable[Any]]) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


def _pack() -> Any:
    from geo.pack import load_demo_pack

    return load_demo_pack()


async def migrate_and_load(database_url: str) -> None:
    """Apply migrations and load the demo county's jurisdiction tree."""
    from incidents.migrate import migrate
    from incidents.repository import JurisdictionRow, upsert_jurisdictions
    from incidents.vocabulary import Tier

    pack = _pack()
    conn = await asyncpg.connect(database_url)
    try:
        applied = await migrate(conn)
        rows = [
            JurisdictionRow(d.code, Tier(d.tier), d.name, d.parent_code, d.synthetic)
            for d in pack.divisions()
        ]
        count = await upsert_jurisdictions(conn, rows)
    finally:
        await conn.close()
    log.info("migrations applied: %s; jurisdictions loaded: %d", applied or "none", count)


def cmd_migrate(settings: Settings) -> None:
    """Apply migrations and load the county pack."""
    _, database_url = _require_urls(settings)
    asyncio.run(migrate_and_load(database_url))


def cmd_worker(settings: Settings) -> None:
    """Run one ingest worker, and the deadline job (one worker at a time runs each tick)."""
    from incidents.deadline_job import run_every
    from incidents.service import CaseService
    from realtime.event_sink import RedisEventSink
    from realtime.ingest import IngestWorker, utc_now
    from realtime.placement import locate_in

    redis_url, database_url = _require_urls(settings)
    locate = locate_in(_pack())

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url)
        pool = await create_pool(database_url, min_size=1, max_size=4)
        consumer = f"{socket.gethostname()}-{os.getpid()}"
        worker = IngestWorker(redis, pool, locate, names=_names(settings), consumer=consumer)
        service = CaseService(pool, RedisEventSink(redis, _names(settings)))
        log.info("ingest worker %s consuming %s", consumer, _names(settings).intake)
        try:
            await asyncio.gather(worker.run(stop), run_every(pool, service, stop, utc_now))
        finally:
            await pool.close()
            await redis.aclose()

    _run_until_signal(main)


def cmd_gateway(settings: Settings) -> None:
    """Run the websocket gateway."""
    from realtime.gateway import Gateway

    redis_url, database_url = _require_urls(settings)

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url)
        pool = await create_pool(database_url, min_size=1, max_size=4)
        try:
            await Gateway(redis, pool, _names(settings)).serve(
                settings.host, settings.ws_port, stop
            )
        finally:
            await pool.close()
            await redis.aclose()

    _run_until_signal(main)


def cmd_simulate(settings: Settings, rate: float | None, seed: int | None) -> None:
    """Feed simulated reports into the intake stream, and patrol units' positions."""
    from realtime.simulator import Area, run_feed, run_patrols

    redis_url, _ = _require_urls(settings)
    pack = _pack()
    villages_per_township: dict[str, int] = {}
    for village in pack.villages:
        parent = village.parent_code or ""
        villages_per_township[parent] = villages_per_township.get(parent, 0) + 1
    areas = [Area(t.name, t.geometry, villages_per_township.get(t.code, 1)) for t in pack.townships]

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url)
        try:
            await asyncio.gather(
                run_feed(
                    redis, _names(settings), areas, rate or settings.sim_rate, stop, seed=seed
                ),
                run_patrols(redis, _names(settings), areas, 5, 2.0, stop, seed=seed),
            )
        finally:
            await redis.aclose()

    _run_until_signal(main)


def cmd_serve(settings: Settings) -> None:
    """Serve the Dash command centre (and /healthz) with uvicorn, in this process."""
    import uvicorn
    from fastapi.responses import JSONResponse

    from dashboard.app import DashboardConfig, MapLayers, create_app
    from realtime.health import stack_health

    redis_url, database_url = _require_urls(settings)
    pack = _pack()
    centre = pack.boundary.centroid
    west, south, east, north = pack.boundary.bounds
    layers = MapLayers(
        boundary=pack.layer_geojson("boundary"),
        townships=pack.layer_geojson("townships"),
        center=(centre.y, centre.x),
        bounds=((south, west), (north, east)),
    )
    config = DashboardConfig(
        county_name=pack.name,
        scope=pack.code,
        ws_port=settings.ws_port,
        tile_url=settings.tile_url,
    )
    dash_app = create_app(layers, config)
    server = dash_app.server
    clients: dict[str, Any] = {}

    @server.get("/healthz")
    async def healthz() -> JSONResponse:
        if not clients:
            clients["redis"] = _redis(redis_url)
            clients["pool"] = await create_pool(database_url, min_size=1, max_size=2)
        ready, details = await stack_health(clients["redis"], clients["pool"], _names(settings))
        return JSONResponse({"ready": ready, **details}, status_code=200 if ready else 503)

    uvicorn.Server(
        uvicorn.Config(server, host=settings.host, port=settings.port, log_level="warning")
    ).run()


def cmd_run(settings: Settings) -> None:
    """The whole demo stack: embedded servers when no URLs are given, then every process."""
    from realtime.embedded import EmbeddedServers
    from realtime.supervisor import Supervisor

    embedded = EmbeddedServers(settings.data_dir)
    env = dict(os.environ)
    try:
        if not settings.redis_url:
            env["REDIS_URL"] = embedded.start_redis()
            log.info("embedded Redis at %s", env["REDIS_URL"])
        if not settings.database_url:
            env["DATABASE_URL"] = embedded.start_postgres()
            log.info("embedded PostgreSQL at %s", env["DATABASE_URL"])
        asyncio.run(migrate_and_load(env["DATABASE_URL"]))
        me = [sys.executable, str(Path(__file__).resolve())]
        supervisor = Supervisor(env)
        try:
            supervisor.add("worker", [*me, "worker"])
            supervisor.add("gateway", [*me, "gateway"])
            supervisor.add("simulator", [*me, "simulate"])
            supervisor.add("dashboard", [*me, "serve"])
            print(
                f"\n平安指挥 Pingan Command is running:\n"
                f"  command centre  http://{settings.host}:{settings.port}/\n"
                f"  health          http://{settings.host}:{settings.port}/healthz\n"
                f"  live gateway    ws://{settings.host}:{settings.ws_port}/live\n"
                f"  Redis           {env['REDIS_URL']}\n"
                f"  PostgreSQL      {env['DATABASE_URL']}\n"
                f"  processes       worker, gateway, simulator ({settings.sim_rate}/s), dashboard\n"
                f"Press Ctrl-C to stop everything.\n",
                flush=True,
            )
            supervisor.watch()
        finally:
            supervisor.stop()
    finally:
        embedded.stop()
        log.info("stopped")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one subcommand."""
    parser = argparse.ArgumentParser(prog="app.py", description="Pingan Command (平安指挥)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the whole demo stack")
    sub.add_parser("serve", help="the Dash command centre")
    sub.add_parser("worker", help="one ingest worker")
    sub.add_parser("gateway", help="the websocket gateway")
    sim = sub.add_parser("simulate", help="feed simulated reports")
    sim.add_argument("--rate", type=float, default=None, help="reports per second")
    sim.add_argument("--seed", type=int, default=None)
    sub.add_parser("migrate", help="apply migrations and load the county pack")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    commands: dict[str, Callable[[], None]] = {
        "run": lambda: cmd_run(settings),
        "serve": lambda: cmd_serve(settings),
        "worker": lambda: cmd_worker(settings),
        "gateway": lambda: cmd_gateway(settings),
        "simulate": lambda: cmd_simulate(settings, args.rate, args.seed),
        "migrate": lambda: cmd_migrate(settings),
    }
    commands[args.command]()


if __name__ == "__main__":
    main()
