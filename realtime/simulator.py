"""The county simulator: a seeded duty shift driven through the stack's public interfaces only.

Reports go on the intake stream, unit positions on the positions stream, camera keepalives,
faults and alarms on the cameras stream, and each unit answers its dispatches through a
field terminal on the websocket gateway. It never touches the database. Everything random
comes from one seed; the simulated clock sets what happens when (the hour of the day, how
far a unit has driven), while every message is stamped with the real time, because the
stack judges stamps against its own clock. The same seed and start give the same reports;
source_ids carry the seed and the start (to the millisecond) unless `--tag` fixes them
(to replay a run's ids).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from geo.pack import CountyPack, load_demo_pack
from realtime.sim_cameras import (
    CameraNetwork,
    CameraOut,
    CameraSettings,
    alarm_source_id,
    encode_camera,
)
from realtime.sim_clock import MAX_SPEED, SimClock
from realtime.sim_places import SpotKind, distance_m, hot_spots, spots_of_kind
from realtime.sim_reports import Draft, DraftKind, FeedSettings, ReportFeed, encode, place_name
from realtime.sim_roads import RoadGraph
from realtime.sim_scenarios import Scenario, ScenarioItem, scenario_items
from realtime.sim_terminal import TerminalLink
from realtime.sim_units import (
    DiscoveryOut,
    FleetUnit,
    PositionOut,
    SimUnit,
    TaskOut,
    TaskStep,
    build_units,
    default_fleet,
    township_nodes,
)
from realtime.streams import DATA_FIELD, StreamNames

log = logging.getLogger(__name__)

POSITIONS_MAXLEN = 100_000
MAX_BACKOFF_SECONDS = 10.0
# Terminals connect 50 a second: a hundred at once exhausted the gateway's Redis pool.
TERMINAL_STAGGER_SECONDS = 0.02
MAX_BACKLOG_BATCHES = 2_000  # ticks kept while Redis is away (~15 min at 0.5 s)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate: the options of `app.py simulate`."""

    seed: int = 1
    speed: float = 1.0  # simulated seconds per wall second, 1-60
    rate: float = 0.3  # reports per wall second on a weekly average; 0 = no reports
    scenario: Scenario | None = None
    scenario_after_seconds: float = 5.0  # wall seconds after the start
    duration_seconds: float | None = None  # wall seconds; None = until stopped
    tag: str | None = None  # source_id tag; default: seed and start, fresh for every run
    sim_start: datetime | None = None  # the simulated start; default: now
    rhythm: bool = True  # day and week shape the rate (off: a flat load)
    malformed_share: float = 0.02
    repeat_share: float = 0.15
    units: bool = True
    cameras: int | None = None  # how many of the pack's cameras (None: all)
    camera_settings: CameraSettings = field(default_factory=CameraSettings)
    gateway_url: str | None = None  # ws://…/live for the units' terminals; None: no terminals
    tick_seconds: float = 0.5
    on_scene_scale: float = 1.0  # below 1: shorter stays on scene (tests of the round trip)

    def __post_init__(self) -> None:
        if self.sim_start is not None and self.sim_start.tzinfo is None:
            raise ValueError("sim_start needs a time zone offset")
        if self.rate < 0:
            raise ValueError(f"rate must not be negative, got {self.rate:g}")
        if not 1.0 <= self.speed <= MAX_SPEED:
            raise ValueError(f"speed must be between 1 and {MAX_SPEED:g}, got {self.speed:g}")
        if self.tick_seconds <= 0:
            raise ValueError("tick_seconds must be positive")

    def source_tag(self, sim_start: datetime) -> str:
        """The tag in every simulated source_id.

        By default the seed and the simulated start, so a restarted simulator never repeats
        an earlier run's ids (the stack would take them as the same reports); a given `tag`
        replays exactly the same ids.
        """
        # To the millisecond: a supervisor may restart a crashed simulator within the second.
        millis = sim_start.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:-3]
        return self.tag or f"s{self.seed}-{millis}"


@dataclass
class SimStats:
    """What the simulator sent, for the shift test to account for every piece."""

    reports: Counter[str] = field(default_factory=Counter)  # by DraftKind
    source_ids: dict[str, list[str]] = field(default_factory=dict)  # by DraftKind
    malformed: Counter[str] = field(default_factory=Counter)  # by Malformed kind
    repeat_of: dict[str, str] = field(default_factory=dict)  # repeat → its first call
    channels: Counter[str] = field(default_factory=Counter)
    positions: int = 0
    camera_messages: Counter[str] = field(default_factory=Counter)  # by notice
    alarm_source_ids: list[str] = field(default_factory=list)
    tasks_received: dict[str, list[int]] = field(default_factory=dict)  # unit → case ids
    tasks_answered: dict[str, list[int]] = field(default_factory=dict)  # completed feedback
    terminal_rejections: list[str] = field(default_factory=list)
    errors: int = 0
    dropped: int = 0  # reports never sent: Redis stayed away longer than the backlog lasts
    ticks: int = 0

    def as_json(self) -> dict[str, object]:
        """A JSON-ready summary (counts, and the lists in full)."""
        return {
            "reports": dict(self.reports),
            "malformed": dict(self.malformed),
            "channels": dict(self.channels),
            "positions": self.positions,
            "camera_messages": dict(self.camera_messages),
            "alarms": len(self.alarm_source_ids),
            "tasks_received": sum(len(v) for v in self.tasks_received.values()),
            "tasks_answered": sum(len(v) for v in self.tasks_answered.values()),
            "terminal_rejections": len(self.terminal_rejections),
            "errors": self.errors,
            "dropped": self.dropped,
            "ticks": self.ticks,
        }


class _Shift:
    """The simulation's moving parts, stepped one tick at a time."""

    def __init__(
        self,
        config: SimConfig,
        pack: CountyPack,
        fleet: Sequence[FleetUnit] | None,
        clock: SimClock,
    ) -> None:
        rng = random.Random(config.seed)
        self.config = config
        self.clock = clock
        self.spots = hot_spots(pack)
        feed_settings = FeedSettings(
            config.source_tag(clock.sim_start),
            repeat_share=config.repeat_share,
            malformed_share=config.malformed_share,
            rhythm=config.rhythm,
        )
        # One generator per part (and its own source_id series), so units, scenarios and
        # tick timing never change the citizens' reports a seed gives.
        self.feed = ReportFeed(
            self.spots, feed_settings, random.Random(rng.random()), start=clock.sim_start
        )
        tag = feed_settings.tag
        self.grid_feed = ReportFeed(
            self.spots, replace(feed_settings, tag=f"{tag}-g"), random.Random(rng.random())
        )
        self.scenario_feed = ReportFeed(
            self.spots, replace(feed_settings, tag=f"{tag}-x"), random.Random(rng.random())
        )
        cameras = pack.cameras if config.cameras is None else pack.cameras[: config.cameras]
        self.cameras = CameraNetwork(
            cameras, config.camera_settings, random.Random(rng.random()), start=clock.sim_start
        )
        self.units: list[SimUnit] = []
        if config.units:
            roads = RoadGraph(pack.roads)
            nodes = township_nodes(pack, roads)
            chosen = fleet if fleet is not None else default_fleet(pack, roads, nodes, config.seed)
            self.units = build_units(chosen, roads, nodes, config.seed, config.on_scene_scale)
        self.unit_by_id = {u.unit.unit_id: u for u in self.units}
        self.pending: list[ScenarioItem] = []
        self.scenario_started = False

    def village_near(self, lon: float, lat: float) -> str:
        """The name of the village closest to a point, as a grid worker would say it."""
        villages = spots_of_kind(self.spots, SpotKind.VILLAGE) or list(self.spots)
        spot = min(villages, key=lambda s: distance_m(lon, lat, s.lon, s.lat))
        return place_name(spot)

    def start_scenario(self, sim_now: datetime) -> None:
        """Schedule the scenario's burst from now."""
        if self.config.scenario is not None and not self.scenario_started:
            self.scenario_started = True
            self.pending = scenario_items(
                self.config.scenario, sim_now, self.spots, self.scenario_feed, self.cameras
            )
            log.info("scenario %s started (%d items)", self.config.scenario, len(self.pending))

    def due_scenario(self, sim_now: datetime) -> list[ScenarioItem]:
        """Scenario items whose time has come."""
        due = [item for item in self.pending if item.sim_at <= sim_now]
        self.pending = [item for item in self.pending if item.sim_at > sim_now]
        return due


async def run_simulation(
    config: SimConfig,
    stop: asyncio.Event,
    *,
    redis: aioredis.Redis,
    names: StreamNames,
    pack: CountyPack | None = None,
    fleet: Sequence[FleetUnit] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> SimStats:
    """Run a shift until stopped or `duration_seconds` passed; return what was sent.

    `fleet` is the real fleet when the stack has one (default: a seeded demo fleet);
    `credentials` maps unit id → terminal token (default: provisioned here when a
    gateway is given). Errors are logged and backed off, never raised out of the loop.
    """
    pack = pack or load_demo_pack()
    wall_start = time.monotonic()
    clock = SimClock(config.sim_start or datetime.now(UTC), wall_start, config.speed)
    shift = _Shift(config, pack, fleet, clock)
    stats = SimStats()
    links = await _open_terminals(config, shift, redis, names, credentials, stop)
    last_sim = clock.sim_at(wall_start)
    backoff = 0.0
    backlog: deque[_Batch] = deque()
    try:
        while not stop.is_set():
            wall = time.monotonic()
            # The last tick draws exactly up to the end, so a run of D seconds sends ~rate x D.
            last_tick = (
                config.duration_seconds is not None and wall - wall_start >= config.duration_seconds
            )
            if last_tick and config.duration_seconds is not None:
                wall = wall_start + config.duration_seconds
            sim_now = clock.sim_at(wall)
            if wall - wall_start >= config.scenario_after_seconds:
                shift.start_scenario(sim_now)
            try:
                batch = _draw(shift, sim_now, last_sim, wall - wall_start)
                last_sim = sim_now
                backlog.append(batch)
                for message in batch.task_messages:
                    link = links.links.get(message.unit_id)
                    if link is not None:
                        await link.send(message)
                        if message.step is TaskStep.ARRIVAL:
                            fix = shift.unit_by_id[message.unit_id].position
                            await link.send_position(fix, batch.stamp)
                while backlog:
                    await _write(backlog[0], redis, names)
                    _count(stats, backlog.popleft())
                backoff = 0.0
            except RedisError as exc:
                stats.errors += 1
                backoff = min(MAX_BACKOFF_SECONDS, max(0.5, backoff * 2))
                log.warning("simulator cannot write (%s); retrying in %.1f s", exc, backoff)
            except Exception:
                # A fault of the simulator's own must not stop the demo: log, back off, go on.
                stats.errors += 1
                backoff = min(MAX_BACKOFF_SECONDS, max(0.5, backoff * 2))
                log.exception("simulator tick failed; retrying in %.1f s", backoff)
            finally:
                # Keep what Redis has not taken yet, within bounds.
                while len(backlog) > MAX_BACKLOG_BATCHES:
                    stats.dropped += len(backlog.popleft().drafts)
            stats.ticks += 1
            if last_tick:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), config.tick_seconds + backoff)
    finally:
        await links.close(shift.units, stats)
    return stats


@dataclass
class _Terminals:
    """The units' terminal connections while a simulation runs."""

    links: dict[str, TerminalLink] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self, units: Sequence[SimUnit], stats: SimStats) -> None:
        """Disconnect every terminal and record what each received and answered."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        answered_by = {u.unit.unit_id: u.answered for u in units}
        for unit_id, link in self.links.items():
            stats.tasks_received[unit_id] = list(link.stats.tasks)
            stats.terminal_rejections += link.stats.rejected
            confirmed = {case for step, case in link.outbox.confirmed_steps if step == "feedback"}
            # Answered: the unit sent its completion and the gateway confirmed it.
            stats.tasks_answered[unit_id] = [
                c for c in answered_by.get(unit_id, []) if c in confirmed
            ]


async def _open_terminals(
    config: SimConfig,
    shift: _Shift,
    redis: aioredis.Redis,
    names: StreamNames,
    credentials: Mapping[str, str] | None,
    stop: asyncio.Event,
) -> _Terminals:
    terminals = _Terminals()
    if config.gateway_url is None or not shift.units:
        return terminals
    if credentials is None:
        # Credentials are an administrator's to issue (app.py does it for the demo fleet);
        # the simulator never touches the store. Units still drive and report positions.
        log.warning("no terminal credentials given: simulated units answer no dispatches")
        return terminals
    for unit in shift.units:
        token = credentials.get(unit.unit.unit_id)
        if token is None:
            continue  # a unit without a terminal still drives and reports its position
        link = TerminalLink(config.gateway_url, unit.unit.unit_id, token, unit.assign)
        terminals.links[unit.unit.unit_id] = link
        stagger = len(terminals.tasks) * TERMINAL_STAGGER_SECONDS
        terminals.tasks.append(asyncio.create_task(link.run(stop, stagger)))
    return terminals


@dataclass(frozen=True, slots=True)
class _Batch:
    """What one tick sends, kept until Redis has taken it."""

    stamp: datetime
    drafts: Sequence[Draft]
    positions: Sequence[PositionOut]
    cameras: Sequence[CameraOut]
    task_messages: Sequence[TaskOut]


def _draw(shift: _Shift, sim_now: datetime, last_sim: datetime, wall_elapsed: float) -> _Batch:
    """One step of the shift: what is due now and where the units moved (no I/O)."""
    rate_per_sim_second = shift.config.rate / shift.config.speed
    drafts: list[Draft] = shift.feed.due(sim_now, rate_per_sim_second)
    cameras: list[CameraOut] = shift.cameras.due(sim_now, wall_elapsed)
    for item in shift.due_scenario(sim_now):
        if item.draft is not None:
            drafts.append(item.draft)
        if item.camera is not None:
            cameras.append(item.camera)
    seconds = max(0.0, (sim_now - last_sim).total_seconds())
    positions: list[PositionOut] = []
    task_messages: list[TaskOut] = []
    for unit in shift.units:
        for output in unit.step(sim_now, seconds):
            if isinstance(output, PositionOut):
                positions.append(output)
            elif isinstance(output, TaskOut):
                task_messages.append(output)
            elif isinstance(output, DiscoveryOut):
                address = shift.village_near(output.lon, output.lat)
                drafts.append(shift.grid_feed.discovery(sim_now, output.lon, output.lat, address))
    return _Batch(datetime.now(UTC), drafts, positions, cameras, task_messages)


async def _write(batch: _Batch, redis: aioredis.Redis, names: StreamNames) -> None:
    """Append a batch to the streams in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for draft in batch.drafts:
            pipe.xadd(names.intake, {DATA_FIELD: encode(draft, batch.stamp)})
        for fix in batch.positions:
            pipe.xadd(
                names.positions,
                {DATA_FIELD: _position(fix, batch.stamp)},
                maxlen=POSITIONS_MAXLEN,
                approximate=True,
            )
        for message in batch.cameras:
            pipe.xadd(names.cameras, {DATA_FIELD: encode_camera(message, batch.stamp)})
        await pipe.execute()


def _position(fix: PositionOut, stamp: datetime) -> bytes:
    return json.dumps(
        {
            "unit_id": fix.unit_id,
            "lon": fix.fix.lon,
            "lat": fix.fix.lat,
            "at": stamp.isoformat(timespec="milliseconds"),
            "speed": fix.fix.speed_kmh,
            "heading": fix.fix.heading,
        }
    ).encode()


def _count(stats: SimStats, batch: _Batch) -> None:
    for draft in batch.drafts:
        stats.reports[draft.kind.value] += 1
        stats.source_ids.setdefault(draft.kind.value, []).append(draft.source_id)
        stats.channels[draft.channel.value] += 1
        if draft.malformed is not None:
            stats.malformed[draft.malformed.value] += 1
        if draft.kind is DraftKind.REPEAT:
            stats.repeat_of[draft.source_id] = draft.event_key
    stats.positions += len(batch.positions)
    for message in batch.cameras:
        stats.camera_messages[message.notice.value] += 1
        if message.alarm is not None:
            stats.alarm_source_ids.append(alarm_source_id(message.camera_id, batch.stamp))


def valid_source_ids(stats: SimStats) -> list[str]:
    """Source ids of every well-formed report sent (each must become a case or a link)."""
    return [
        source_id
        for kind, ids in stats.source_ids.items()
        if kind != DraftKind.MALFORMED
        for source_id in ids
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `app.py simulate`, on any parser (app.py's subcommand or main's own)."""
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=1.0, help="1 to 60 (simulated/wall)")
    parser.add_argument(
        "--rate", type=float, default=None, help="reports per second (0: none; PINGAN_SIM_RATE)"
    )
    parser.add_argument("--scenario", choices=[s.value for s in Scenario], default=None)
    parser.add_argument("--duration", type=float, default=None, help="wall seconds to run")
    parser.add_argument(
        "--start", type=datetime.fromisoformat, default=None, help="simulated start (ISO 8601)"
    )
    parser.add_argument("--tag", default=None, help="source_id tag (replays the same ids)")
    parser.add_argument("--flat", action="store_true", help="no daily/weekly rhythm (load test)")
    parser.add_argument("--no-units", action="store_true", help="reports and cameras only")
    parser.add_argument("--cameras", type=int, default=None, help="simulate only the first N")
    parser.add_argument("--gateway", default=None, help="ws://host:port/live for terminals")
    parser.add_argument("--no-terminals", action="store_true", help="units without terminals")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse `app.py simulate`'s options."""
    parser = argparse.ArgumentParser(prog="app.py simulate", description="the county simulator")
    add_arguments(parser)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> SimConfig:
    """A SimConfig from parsed options and the environment (PINGAN_SIM_RATE, PINGAN_WS_PORT)."""
    rate = args.rate if args.rate is not None else float(env.get("PINGAN_SIM_RATE", "0.3"))
    gateway = args.gateway
    if gateway is None and not args.no_terminals:
        gateway = f"ws://127.0.0.1:{env.get('PINGAN_WS_PORT', '8765')}/live"
    return SimConfig(
        seed=args.seed,
        speed=args.speed,
        rate=rate,
        scenario=Scenario(args.scenario) if args.scenario else None,
        duration_seconds=args.duration,
        sim_start=args.start,
        tag=args.tag,
        rhythm=not args.flat,
        units=not args.no_units,
        cameras=args.cameras,
        gateway_url=None if args.no_terminals else gateway,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`app.py simulate …`: run against REDIS_URL until Ctrl-C or --duration; print the stats."""
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    config = config_from_args(args, os.environ)
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("REDIS_URL must be set")
    names = StreamNames(os.environ.get("PINGAN_STREAM_PREFIX", ""))

    async def runner() -> SimStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        redis = aioredis.Redis.from_url(redis_url, socket_timeout=10)
        try:
            return await run_simulation(config, stop, redis=redis, names=names)
        finally:
            await redis.aclose()

    stats = asyncio.run(runner())
    print(json.dumps(stats.as_json(), ensure_ascii=False), flush=True)
    return 0
