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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from incidents.store.pool import create_pool
from realtime.camera_bridge import add_arguments as add_bridge_arguments
from realtime.camera_bridge import run_from_args as run_bridge_from_args
from realtime.settings import Settings, tuning_from_env
from realtime.simulator import add_arguments as add_simulate_arguments
from realtime.streams import StreamNames

log = logging.getLogger("pingan")


def _names(settings: Settings) -> StreamNames:
    return StreamNames(settings.stream_prefix)


def _redis(url: str, *, read_retries: int = 0) -> aioredis.Redis:
    """A client for `url`; `read_retries` reconnects and repeats a failed command.

    `from_url` leaves connections with no retry at all, so after an outage the first command
    on each stale pooled connection fails. Retrying suits a client that only reads or whose
    writes are idempotent (the gateway); the ingest worker's MULTI must not run twice, so it
    keeps 0 and recovers through its own back-off loop instead.
    """
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialWithJitterBackoff

    # Longer than any blocking stream read (1 s), short enough to notice a silent partition.
    # A blocking pool: at a burst of sockets (a hundred terminals reconnecting at once) callers
    # wait their turn for a connection instead of failing with "too many connections".
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=200,
        timeout=10,
        socket_timeout=10,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), read_retries),
    )
    return aioredis.Redis(connection_pool=pool)


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
    """Apply migrations, load the demo county's jurisdiction tree and cameras, check the plans."""
    from incidents.plan_library import load_library
    from incidents.store.camera_store import load_demo_cameras
    from incidents.store.jurisdictions import JurisdictionRow, upsert_jurisdictions
    from incidents.store.migrate import migrate
    from incidents.vocabulary import Tier

    pack = _pack()
    plans = load_library()  # a bad plan file stops here, naming the file and the field
    conn = await asyncpg.connect(database_url)
    try:
        applied = await migrate(conn)
        rows = [
            JurisdictionRow(d.code, Tier(d.tier), d.name, d.parent_code, d.synthetic)
            for d in pack.divisions()
        ]
        count = await upsert_jurisdictions(conn, rows)
        cameras = await load_demo_cameras(conn, pack)
    finally:
        await conn.close()
    log.info(
        "migrations applied: %s; jurisdictions: %d; cameras: %d; plans: %d",
        applied or "none",
        count,
        cameras,
        len(plans),
    )


async def load_demo_forces(conn: Any) -> Any:
    """The demo county's fleet, rosters and patrol routes (a real county loads its own)."""
    from incidents.store.demo_fleet import load_demo_units

    return await load_demo_units(conn, _pack(), at=datetime.now(UTC))


def plan_service_for(pool: Any, redis: aioredis.Redis, names: StreamNames, pack: Any) -> Any:
    """The plan service of the demo county: its library, its CAP sender, its township outlines."""
    from geo.outline import township_ring
    from incidents.cap import CapSender
    from incidents.plan_library import load_library
    from incidents.store.plan_service import PlanService
    from realtime.event_sink import RedisEventSink

    sender = CapSender(f"{pack.code}.pingan.command", f"{pack.name}社会管理服务中心")
    return PlanService(
        pool,
        RedisEventSink(redis, names),
        load_library(),
        sender,
        lambda code: township_ring(pack, code),
    )


async def _with_conn(database_url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await work(conn)
    finally:
        await conn.close()


def _print_issued(issued: list[Any]) -> None:
    """Show one-time passwords and display tokens once (they are stored only as hashes)."""
    if not issued:
        return
    print("\nAccounts created now, each with a one-time password (shown only this once):")
    for item in issued:
        print(f"  {item.who:<24} {item.role:<22} {item.jurisdiction:<18} {item.secret}")
    print("Each password must be changed at first sign-in.\n", flush=True)


def cmd_users(settings: Settings, args: argparse.Namespace) -> None:
    """Administer accounts: create, reset a password, disable, revoke sessions, list, demo."""
    from incidents.access import Role
    from incidents.store import accounts, terminal_credentials, user_admin

    _, database_url = _require_urls(settings)
    now = datetime.now(UTC)
    actor = f"cli:{os.environ.get('USER', 'admin')}"

    async def work(conn: Any) -> None:
        if args.action == "create":
            user, password = await user_admin.add_user(
                conn, args.username, args.name, Role(args.role), args.jurisdiction, now, actor
            )
            _print_issued(
                [user_admin.Issued(user.username, user.role, user.jurisdiction, password)]
            )
        elif args.action == "reset-password":
            one_time = await user_admin.reset_to_one_time_password(conn, args.username, now, actor)
            if one_time is None:
                sys.exit(f"no user {args.username!r}")
            print(f"one-time password for {args.username}: {one_time} (all sessions ended)")
        elif args.action == "disable":
            if not await accounts.disable_user(conn, args.username, now):
                sys.exit(f"no user {args.username!r}")
            print(f"{args.username} disabled; its sessions ended")
        elif args.action == "revoke-sessions":
            ended = await user_admin.revoke_sessions_of(conn, args.username, now, actor)
            if ended is None:
                sys.exit(f"no user {args.username!r}")
            print(f"{ended} session(s) of {args.username} ended")
        elif args.action == "list":
            for user in await user_admin.list_users(conn):
                state = "disabled" if user.disabled else "active"
                print(f"{user.username:<16} {user.role:<22} {user.jurisdiction:<18} {state}")
        elif args.action == "demo":
            _print_issued(await user_admin.create_demo_users(conn, now, actor))
        elif args.action == "display-create":
            token = await user_admin.issue_display(conn, args.label, args.jurisdiction, now, actor)
            print(f"display token for {args.label} (shown only now): {token}")
        elif args.action == "display-revoke":
            if not await user_admin.withdraw_display(conn, args.id, now, actor):
                sys.exit(f"no live display token {args.id!r}")
            print("display token revoked; its wall screen signs out within seconds")
        elif args.action == "displays":
            for row in await user_admin.list_displays(conn):
                state = "revoked" if row.revoked_at else "live"
                print(f"{row.id}  {row.jurisdiction:<18} {state:<8} {row.label}")
        elif args.action == "terminal-issue":
            token = await terminal_credentials.issue_terminal(
                conn, args.terminal_id, args.unit, actor, now
            )
            print(f"token of terminal {args.terminal_id} (shown only now): {token}")
        elif args.action == "terminal-revoke":
            if not await terminal_credentials.revoke_terminal(conn, args.terminal_id, actor, now):
                sys.exit(f"no live terminal {args.terminal_id!r}")
            print(f"terminal {args.terminal_id} revoked; its socket is closed within seconds")
        elif args.action == "terminals":
            for item in await terminal_credentials.terminal_credentials(conn):
                state = "revoked" if item.revoked_at else "live"
                print(f"{item.terminal_id:<24} {item.unit_id:<24} {state}")

    asyncio.run(_with_conn(database_url, work))


def cmd_migrate(settings: Settings) -> None:
    """Apply migrations and load the county pack."""
    _, database_url = _require_urls(settings)
    asyncio.run(migrate_and_load(database_url))


def cmd_worker(
    settings: Settings, terminal_inbox: bool, metrics: bool = True, form: bool = True
) -> None:
    """Run one worker: intake, positions and cameras consumers, and the deadline job.

    `terminal_inbox`: this worker also applies field-terminal messages (give it to one only).
    `metrics`: serve /healthz and /metrics on PINGAN_METRICS_PORT (one worker per port).
    `form`: this worker also forms stored reports into cases (else run `app.py former`).
    """
    from incidents.store.service import CaseService
    from realtime.camera_history import run_camera_history
    from realtime.camera_keepalive import run_camera_keepalive
    from realtime.cameras import publish_camera_sites
    from realtime.event_sink import RedisEventSink
    from realtime.forces_jobs import run_forces_jobs
    from realtime.ingest import IngestSettings, utc_now
    from realtime.kpi_job import run_kpi_job
    from realtime.placement import locate_in
    from realtime.plan_jobs import run_plan_deadline_job
    from realtime.plan_proposer import run_plan_proposer
    from realtime.worker import ProbeAddress, run_deadline_job, run_worker

    redis_url, database_url = _require_urls(settings)
    pack = _pack()
    locate = locate_in(pack)
    port = settings.metrics_port if metrics else None
    probe = ProbeAddress(settings.host, port) if port else None

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url)
        pool = await create_pool(database_url, min_size=1, max_size=4)
        names = _names(settings)
        consumer = f"{socket.gethostname()}-{os.getpid()}"
        service = CaseService(pool, RedisEventSink(redis, names))
        plans = plan_service_for(pool, redis, names, pack)
        log.info("worker %s consuming %s", consumer, names.intake)
        try:
            await publish_camera_sites(redis, names, pack.cameras)
            await asyncio.gather(
                run_worker(
                    redis,
                    pool,
                    locate,
                    names=names,
                    consumer=consumer,
                    settings=IngestSettings.from_env(),
                    stop=stop,
                    probe=probe,
                    terminal_service=service if terminal_inbox else None,
                    form=form,
                ),
                run_deadline_job(pool, service, stop, utc_now),
                run_plan_deadline_job(plans, stop, utc_now),
                run_forces_jobs(pool, service, stop, utc_now),
                run_kpi_job(redis, pool, names, stop, utc_now, every_seconds=settings.kpi_seconds),
                run_plan_proposer(redis, plans, names, stop, utc_now, consumer=consumer),
                run_camera_keepalive(redis, names, stop),
                run_camera_history(redis, pool, names, stop, consumer=consumer),
            )
        finally:
            await pool.close()
            await redis.aclose()

    _run_until_signal(main)


def cmd_former(settings: Settings) -> None:
    """Run a case former: stored reports become cases, in the order they were received."""
    from realtime.ingest import IngestSettings
    from realtime.worker import run_former

    redis_url, database_url = _require_urls(settings)

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url)
        pool = await create_pool(database_url, min_size=1, max_size=3)
        try:
            await run_former(
                redis,
                pool,
                names=_names(settings),
                consumer=f"former-{socket.gethostname()}-{os.getpid()}",
                settings=IngestSettings.from_env(),
                stop=stop,
            )
        finally:
            await pool.close()
            await redis.aclose()

    _run_until_signal(main)


def cmd_gateway(settings: Settings) -> None:
    """Run the websocket gateway."""
    from realtime.gateway import Gateway, GatewaySettings
    from realtime.placement import locate_in

    redis_url, database_url = _require_urls(settings)
    locate = locate_in(_pack())

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url, read_retries=3)
        pool = await create_pool(database_url, min_size=1, max_size=4)
        gateway = Gateway(
            redis,
            pool,
            _names(settings),
            replace(
                tuning_from_env(GatewaySettings, "PINGAN_GATEWAY_"),
                require_screen_tokens=settings.screen_tokens,
                # The command centre's own pages, and clients that send no origin (terminals).
                allowed_origins=(
                    *(
                        f"{scheme}://{host}:{settings.port}"
                        for host in sorted(settings.allowed_hosts)
                        for scheme in ("http", "https")
                    ),
                    None,
                ),
            ),
            locate_township=lambda lon, lat: locate(lon, lat).jurisdiction.township_code,
        )
        try:
            await gateway.serve(settings.host, settings.ws_port, stop)
        finally:
            await pool.close()
            await redis.aclose()

    _run_until_signal(main)


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> None:
    """Run the county simulator (docs/simulator.md) against the stack's public interfaces.

    With a database, the stored fleet is driven and each unit gets a terminal token issued in
    the store first (the administrator's part); without one, a seeded fleet without terminals.
    """
    import json

    from realtime.sim_fleet import issue_simulator_terminals, stored_fleet
    from realtime.simulator import config_from_args, run_simulation

    redis_url = settings.redis_url
    if not redis_url:
        sys.exit("REDIS_URL is required (make run starts embedded servers and sets it)")
    config = config_from_args(args, os.environ)
    pack = _pack()

    async def fleet_and_tokens(conn: Any) -> tuple[Any, Any]:
        fleet = await stored_fleet(conn, pack)
        if not fleet or config.gateway_url is None:
            return fleet or None, None
        tokens = await issue_simulator_terminals(conn, fleet, "system:simulator", datetime.now(UTC))
        return fleet, tokens

    fleet, credentials = None, None
    if settings.database_url:
        fleet, credentials = asyncio.run(_with_conn(settings.database_url, fleet_and_tokens))

    async def main(stop: asyncio.Event) -> None:
        redis = _redis(redis_url)
        try:
            stats = await run_simulation(
                config,
                stop,
                redis=redis,
                names=_names(settings),
                pack=pack,
                fleet=fleet,
                credentials=credentials,
            )
        finally:
            await redis.aclose()
        print(json.dumps(stats.as_json(), ensure_ascii=False), flush=True)

    _run_until_signal(main)


def cmd_serve(settings: Settings) -> None:
    """Serve the Dash command centre (and /healthz) with uvicorn, in this process."""
    import json

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, PlainTextResponse

    from dashboard.admin_page import add_admin_routes
    from dashboard.app import DashboardConfig, MapLayers, create_app
    from dashboard.audit_page import add_audit_routes
    from dashboard.http_guard import GuardSettings, HttpGuard
    from dashboard.map_layers import LAYERS as MAP_LAYERS
    from dashboard.map_layers import add_map_layer_routes, encode_layers
    from dashboard.panels.exports import add_export_routes
    from dashboard.quiet_server import QuietServer
    from dashboard.services import Services
    from dashboard.sign_in import SessionGate, add_sign_in_routes
    from dashboard.trends_page import add_trends_routes
    from dashboard.wall_page import add_wall_routes
    from incidents.store.service import CaseService
    from realtime.event_sink import RedisEventSink
    from realtime.health import stack_health
    from realtime.kpi_job import event_publisher
    from realtime.live_protocol import browser_description
    from realtime.metrics import CONTENT_TYPE, metrics_text
    from realtime.positions import latest_positions

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
    geography = encode_layers({name: pack.layer_geojson(name) for name in MAP_LAYERS})
    config = DashboardConfig(
        county_name=pack.name,
        scope=pack.code,
        ws_port=settings.ws_port,
        tile_url=settings.tile_url,
        protocol=browser_description(),
        map_layers={name: f"/map/layers/{name}.geojson" for name in geography},
    )
    clients: dict[str, Any] = {}
    names = _names(settings)

    async def connected() -> tuple[aioredis.Redis, Any]:
        if not clients:
            clients["redis"] = _redis(redis_url)
            clients["pool"] = await create_pool(database_url, min_size=1, max_size=4)
            clients["cases"] = CaseService(clients["pool"], RedisEventSink(clients["redis"], names))
            clients["plans"] = plan_service_for(clients["pool"], clients["redis"], names, pack)
        return clients["redis"], clients["pool"]

    async def service(name: str) -> Any:
        await connected()
        return clients[name]

    async def positions() -> dict[str, tuple[float, float, datetime]]:
        redis, _ = await connected()
        return {
            u.unit_id: (u.lon, u.lat, datetime.fromtimestamp(u.at_ms / 1000, UTC))
            for u in await latest_positions(redis, names)
        }

    async def pool_of() -> Any:
        _, pool = await connected()
        return pool

    async def submit_report(document: dict[str, Any]) -> str:
        redis, _ = await connected()
        await redis.xadd(names.intake, {"data": json.dumps(document, ensure_ascii=False)})
        return str(document["source_id"])

    async def publish_notice(event: bytes) -> None:
        redis, _ = await connected()
        await event_publisher(redis, names)(event)

    services = Services(
        pool_of=pool_of,
        cases_of=lambda: service("cases"),
        plans_of=lambda: service("plans"),
        positions_of=positions,
        submit_report=submit_report,
    )
    dash_app = create_app(layers, config, services)
    server: FastAPI = dash_app.server

    @server.get("/healthz")
    async def healthz() -> JSONResponse:
        redis, pool = await connected()
        ready, details = await stack_health(redis, pool, _names(settings))
        return JSONResponse({"ready": ready, **details}, status_code=200 if ready else 503)

    @server.get("/metrics")
    async def metrics() -> PlainTextResponse:
        redis, _ = await connected()
        text = await metrics_text(redis, _names(settings), datetime.now(UTC))
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    add_sign_in_routes(server, pool_of)
    add_audit_routes(server, pool_of)
    add_trends_routes(server, pool_of)
    add_admin_routes(server, pool_of)
    add_export_routes(server, pool_of)
    add_map_layer_routes(server, geography)
    add_wall_routes(
        server,
        pool_of,
        layers.townships,
        layers.boundary,
        config.county_name,
        config.ws_port,
        config.protocol,
        publish_notice,
    )
    guard = GuardSettings(
        allowed_hosts=settings.allowed_hosts,
        ws_port=settings.ws_port,
        script_hashes=tuple(dash_app.csp_hashes()),
    )
    guarded = HttpGuard(SessionGate(server, pool_of), guard)
    QuietServer(
        uvicorn.Config(guarded, host=settings.host, port=settings.port, log_level="warning")
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
        from incidents.store.user_admin import create_demo_users

        fleet = asyncio.run(_with_conn(env["DATABASE_URL"], load_demo_forces))
        log.info("demo forces: %s", fleet)
        demo = asyncio.run(
            _with_conn(env["DATABASE_URL"], lambda c: create_demo_users(c, datetime.now(UTC)))
        )
        me = [sys.executable, str(Path(__file__).resolve())]
        supervisor = Supervisor(env)
        try:
            supervisor.add("worker", [*me, "worker", "--terminal-inbox", "--no-former"])
            # More consumers in the same group share the intake (PINGAN_WORKERS); the terminal
            # inbox and the metrics port stay with the first.
            for n in range(2, settings.workers + 1):
                supervisor.add(f"worker-{n}", [*me, "worker", "--no-metrics", "--no-former"])
            # Cases form in a process of their own: a flood of calls is stored and
            # acknowledged at full speed while the former works through it on the other core.
            supervisor.add("former", [*me, "former"])
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
                f"  processes       {settings.workers} worker(s), case former, gateway,"
                f" simulator ({settings.sim_rate}/s), dashboard\n"
                f"Press Ctrl-C to stop everything.\n",
                flush=True,
            )
            _print_issued(demo)
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
    worker = sub.add_parser("worker", help="one worker (intake, positions, cameras, deadlines)")
    worker.add_argument(
        "--terminal-inbox", action="store_true", help="also apply field-terminal messages"
    )
    worker.add_argument(
        "--no-metrics", action="store_true", help="do not serve PINGAN_METRICS_PORT"
    )
    worker.add_argument(
        "--no-former", action="store_true", help="leave case formation to `app.py former`"
    )
    sub.add_parser("former", help="form stored reports into cases (any number may run)")
    sub.add_parser("gateway", help="the websocket gateway")
    sim = sub.add_parser("simulate", help="the county simulator (docs/simulator.md)")
    add_simulate_arguments(sim)
    sub.add_parser("migrate", help="apply migrations and load the county pack")
    bridge = sub.add_parser(
        "cameras-bridge", help="bridge a wvp-GB28181-pro platform's Redis channels to ours"
    )
    add_bridge_arguments(bridge)
    users = sub.add_parser("users", help="administer accounts (one-time passwords, shown once)")
    users_sub = users.add_subparsers(dest="action", required=True)
    create = users_sub.add_parser("create", help="a new account with a one-time password")
    create.add_argument("username")
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--role", required=True, help="e.g. township_coordinator")
    create.add_argument("--jurisdiction", required=True, help="e.g. 320118101000")
    for action in ("reset-password", "disable", "revoke-sessions"):
        users_sub.add_parser(action).add_argument("username")
    users_sub.add_parser("list", help="every account")
    users_sub.add_parser("demo", help="create the demo county's accounts that are missing")
    display = users_sub.add_parser("display-create", help="a wall-screen token (shown once)")
    display.add_argument("label")
    display.add_argument("--jurisdiction", required=True, help="what the wall shows")
    users_sub.add_parser("display-revoke", help="withdraw a wall-screen token").add_argument("id")
    users_sub.add_parser("displays", help="every wall-screen token (ids, never tokens)")
    terminal = users_sub.add_parser("terminal-issue", help="a field terminal's token (shown once)")
    terminal.add_argument("terminal_id")
    terminal.add_argument("--unit", required=True, help="the unit the terminal acts for")
    users_sub.add_parser("terminal-revoke", help="withdraw a terminal's token").add_argument(
        "terminal_id"
    )
    users_sub.add_parser("terminals", help="every field terminal")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    commands: dict[str, Callable[[], None]] = {
        "run": lambda: cmd_run(settings),
        "serve": lambda: cmd_serve(settings),
        "worker": lambda: cmd_worker(
            settings, args.terminal_inbox, not args.no_metrics, not args.no_former
        ),
        "former": lambda: cmd_former(settings),
        "gateway": lambda: cmd_gateway(settings),
        "simulate": lambda: cmd_simulate(settings, args),
        "migrate": lambda: cmd_migrate(settings),
        "users": lambda: cmd_users(settings, args),
        "cameras-bridge": lambda: run_bridge_from_args(args),
    }
    commands[args.command]()


if __name__ == "__main__":
    main()
