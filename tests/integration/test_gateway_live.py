"""The gateway under stress on real Redis and PostgreSQL: cuts, slow screens, positions, outages."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.gateway import Gateway, GatewaySettings, LocateTownship
from realtime.positions import PositionsConsumer, PositionSettings, UnitPosition
from realtime.streams import StreamNames
from tests.stack import free_port, listening

pytestmark = pytest.mark.integration

COUNTY = "320118"
YANGJIANG = "320118101000"
CHUNXI = "320118001000"
TOWNSHIPS = (YANGJIANG, CHUNXI, "320118102000", "320118103000")


@contextlib.asynccontextmanager
async def gateway_at(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    settings: GatewaySettings | None = None,
    locate_township: LocateTownship | None = None,
) -> AsyncIterator[tuple[str, Gateway]]:
    """A running gateway and its URL (fan-out itself: sign-in is off unless asked for)."""
    port = free_port()
    stop = asyncio.Event()
    chosen = settings or GatewaySettings(require_session=False)
    gateway = Gateway(redis, pool, names, chosen, locate_township=locate_township)
    task = asyncio.create_task(gateway.serve("127.0.0.1", port, stop))
    await listening(port)
    try:
        yield f"ws://127.0.0.1:{port}/live", gateway
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def case_event(serial: int, township: str, summary: str = "") -> bytes:
    """A case.opened event as the ingest worker publishes it (only what routing needs)."""
    return json.dumps(
        {
            "schema": "event/1",
            "type": "case.opened",
            "at": "2026-11-26T10:00:00.000+00:00",
            "actor": "test",
            "case_id": serial,
            "source_id": f"s-{serial}",
            "case": {"id": serial, "township_code": township, "summary": summary},
        },
        ensure_ascii=False,
    ).encode()


async def produce_events(
    redis: aioredis.Redis, names: StreamNames, count: int, per_second: float, seed: int
) -> list[tuple[str, str]]:
    """XADD case events at about the given rate; return (stream id, township) in order."""
    rng = random.Random(seed)
    produced: list[tuple[str, str]] = []
    started = time.monotonic()
    for serial in range(count):
        township = rng.choice(TOWNSHIPS)
        entry_id = await redis.xadd(names.events, {"data": case_event(serial, township)})
        produced.append((entry_id.decode(), township))
        await asyncio.sleep(max(0.0, started + (serial + 1) / per_second - time.monotonic()))
    return produced


def applied_ids(message: dict[str, Any]) -> list[str]:
    """Stream ids a client applies from one server message."""
    if message["type"] == "delta":
        return [message["id"]]
    if message["type"] in ("deltas", "replay"):
        return [d["id"] for d in message["deltas"]]
    return []


async def cutting_client(
    url: str, scope: str, batch: bool, stop: asyncio.Event, seed: int
) -> tuple[list[str], int]:
    """Follow the stream, cutting the TCP connection at random moments; resume with since."""
    rng = random.Random(seed)
    applied: list[str] = []
    last: str | None = None
    cuts = 0
    while not stop.is_set() or cuts == 0:
        ws = await connect(url)
        await ws.send(
            json.dumps({"type": "subscribe", "scope": scope, "since": last, "batch": batch})
        )
        cut_at = time.monotonic() + rng.uniform(0.02, 0.4)
        try:
            while time.monotonic() < cut_at:
                try:
                    raw = await asyncio.wait_for(ws.recv(), max(0.001, cut_at - time.monotonic()))
                except TimeoutError:
                    break
                message = json.loads(raw)
                if message["type"] == "snapshot":
                    assert last is None, "a resuming client must not need a snapshot here"
                    last = message["last_id"]
                    continue
                ids = applied_ids(message)
                applied.extend(ids)
                if message["type"] == "replay":
                    last = message["last_id"]
                elif ids:
                    last = ids[-1]
        finally:
            ws.transport.abort()  # a cut, not a goodbye
            cuts += 1
    # Final catch-up on a clean connection.
    ws = await connect(url)
    await ws.send(json.dumps({"type": "subscribe", "scope": scope, "since": last, "batch": batch}))
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    applied.extend(applied_ids(message))
    await ws.close()
    return applied, cuts


async def test_random_cuts_lose_nothing_and_repeat_nothing(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Screens cut at random points and resuming with since see every event once, in order."""
    await redis.xadd(names.events, {"data": case_event(-1, CHUNXI)})
    async with gateway_at(redis, pool, names) as (url, _):
        stop = asyncio.Event()
        clients = [
            asyncio.create_task(cutting_client(url, COUNTY, False, stop, seed=1)),
            asyncio.create_task(cutting_client(url, COUNTY, True, stop, seed=2)),
            asyncio.create_task(cutting_client(url, YANGJIANG, True, stop, seed=3)),
        ]
        await asyncio.sleep(0.3)
        produced = await produce_events(redis, names, 1500, per_second=600, seed=4)
        await asyncio.sleep(0.5)
        stop.set()
        results = await asyncio.gather(*clients)

    everything = [entry_id for entry_id, _ in produced]
    in_yangjiang = [entry_id for entry_id, town in produced if town == YANGJIANG]
    for (applied, cuts), expected in zip(
        results, (everything, everything, in_yangjiang), strict=True
    ):
        assert cuts >= 5
        assert applied == expected, "gap, duplicate or disorder across reconnects"


async def test_a_read_that_raced_the_replay_is_not_written_twice(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """Deltas a caught-up screen already has never go to it again by the direct path."""
    async with gateway_at(redis, pool, names) as (url, gateway), connect(url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "scope": COUNTY, "batch": True}))
        assert json.loads(await ws.recv())["type"] == "snapshot"
        first = await redis.xadd(names.events, {"data": case_event(1, CHUNXI)})
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert [d["id"] for d in message["deltas"]] == [first.decode()]
        sent_directly = gateway.stats.direct_messages
        assert sent_directly > 0, "a caught-up screen is written to directly"

        # The pump hands over a read holding that delta again, as when its XREAD returned
        # entries a resuming screen's replay had already sent.
        gateway._fan_out([(first, {b"data": case_event(1, CHUNXI)})])
        second = await redis.xadd(names.events, {"data": case_event(2, CHUNXI)})
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert [d["id"] for d in message["deltas"]] == [second.decode()]


def _slow_socket(port: int) -> socket.socket:
    """A connected socket with a tiny receive buffer, so the server's sends back up fast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_slow_client_gets_a_fresh_snapshot_and_never_delays_the_others(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A screen that stops reading overflows its own queue only; the others stay on time."""
    settings = GatewaySettings(client_queue=200, read_count=100, require_session=False)
    async with gateway_at(redis, pool, names, settings) as (url, gateway):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        slow = await connect(url, sock=_slow_socket(port), max_queue=1)
        await slow.send(json.dumps({"type": "subscribe", "scope": COUNTY}))
        fast = await connect(url)
        await fast.send(json.dumps({"type": "subscribe", "scope": COUNTY, "batch": True}))
        assert json.loads(await fast.recv())["type"] == "snapshot"

        delays: list[float] = []
        received: list[str] = []
        total = 3000

        async def follow() -> None:
            while len(received) < total:
                message = json.loads(await asyncio.wait_for(fast.recv(), 5))
                now = time.time()
                for delta in message["deltas"]:
                    received.append(delta["id"])
                    delays.append(now - int(delta["id"].split("-")[0]) / 1000)

        follower = asyncio.create_task(follow())
        rng = random.Random(6)
        for serial in range(total):
            summary = rng.randbytes(2000).hex()  # 4 kB that no compression could shrink
            await redis.xadd(names.events, {"data": case_event(serial, CHUNXI, summary)})
            if serial % 100 == 0:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(follower, 20)
        assert len(received) == total == len(set(received))
        delays.sort()
        # Held up by the slow one, it would wait for the whole run (over 10 s); 2 s leaves room
        # for a loaded CI machine.
        assert delays[int(len(delays) * 0.99)] < 2.0, "the fast client was held up"

        # When the slow screen reads again it finds a 'behind' snapshot, then deltas go on.
        kinds: list[str] = []
        with contextlib.suppress(TimeoutError, ConnectionClosed):
            while True:
                message = json.loads(await asyncio.wait_for(slow.recv(), 2))
                kinds.append(
                    message["type"] if message["type"] != "snapshot" else message["reason"]
                )
        assert "behind" in kinds, "the slow client should have overflowed"
        assert gateway.stats.behind_snapshots >= 1
        # The fast screen was written to directly; the slow one went through its buffer.
        assert gateway.stats.direct_messages > 0
        text = gateway.metrics()
        assert "pingan_gateway_screens 2" in text
        assert f"pingan_gateway_behind_snapshots_total {gateway.stats.behind_snapshots}" in text
        after = kinds[kinds.index("behind") + 1 :]
        assert set(after) <= {"delta", "behind"}
        await slow.close()
        await fast.close()


def fix(unit: str, lon: float, lat: float, at: datetime) -> bytes:
    """One position message."""
    return json.dumps(
        {"unit_id": unit, "lon": lon, "lat": lat, "at": at.isoformat(), "speed": 30.0}
    ).encode()


def township_of(lon: float, lat: float) -> str:
    """A stand-in map: west of 118.95 is 阳江镇, east is 淳溪街道."""
    return YANGJIANG if lon < 118.95 else CHUNXI


async def test_positions_are_coalesced_per_unit_and_filtered_by_scope(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """2,000 fixes of 20 units in ~1.5 s: a few messages per screen, each unit's latest wins."""
    settings = GatewaySettings(position_flush_seconds=0.25, require_session=False)
    async with gateway_at(redis, pool, names, settings, township_of) as (url, gateway):
        county = await connect(url)
        await county.send(json.dumps({"type": "subscribe", "scope": COUNTY}))
        town = await connect(url)
        await town.send(json.dumps({"type": "subscribe", "scope": YANGJIANG}))
        for ws in (county, town):
            assert json.loads(await ws.recv())["type"] == "snapshot"

        start = datetime.now(UTC).replace(microsecond=0) - timedelta(
            minutes=30
        )  # positions must be near the server's clock
        latest: dict[str, tuple[float, float]] = {}
        started = time.monotonic()
        for step in range(100):
            async with redis.pipeline(transaction=False) as pipe:
                for n in range(20):
                    lon = 118.90 + (0.001 * step if n < 10 else 0.1)  # units 0-9 west
                    lat = 31.30 + 0.0001 * n
                    latest[f"unit-{n}"] = (lon, lat)
                    pipe.xadd(
                        names.positions,
                        {"data": fix(f"unit-{n}", lon, lat, start + timedelta(seconds=step))},
                    )
                await pipe.execute()
            await asyncio.sleep(0.015)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.6)

        async def collect(ws: ClientConnection) -> list[dict[str, Any]]:
            messages = []
            with contextlib.suppress(TimeoutError):
                while True:
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), 0.3)))
            return messages

        county_messages = await collect(county)
        town_messages = await collect(town)
        assert gateway.stats.positions == 2000
        assert {m["type"] for m in county_messages} == {"positions"}
        # At most one message per flush, however many fixes arrived.
        assert len(county_messages) <= elapsed / 0.25 + 3
        final: dict[str, tuple[float, float]] = {}
        for message in county_messages:
            assert message["fields"][:3] == ["unit_id", "lon", "lat"]
            for unit_id, lon, lat, *_ in message["units"]:
                final[unit_id] = (lon, lat)
        assert final == {u: (round(lon, 6), round(lat, 6)) for u, (lon, lat) in latest.items()}
        town_units = {u[0] for m in town_messages for u in m["units"]}
        assert town_units == {f"unit-{n}" for n in range(10)}, "only units inside 阳江镇"
        await county.close()
        await town.close()


async def test_positions_consumer_keeps_latest_and_samples_tracks(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Latest per unit in Redis whatever the arrival order; one track point per interval."""
    stored: list[UnitPosition] = []

    async def store(units: Any) -> None:
        stored.extend(units)

    consumer = PositionsConsumer(
        redis,
        store,
        names=names,
        consumer="tracks-1",
        settings=PositionSettings(sample_interval_seconds=10, block_ms=50),
    )
    await consumer.ensure_group()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(
        minutes=30
    )  # positions must be near the server's clock
    order = list(range(60))
    random.Random(5).shuffle(order[30:])  # the second half arrives out of order
    for second in order:
        await redis.xadd(
            names.positions,
            {"data": fix("car-7", 118.9, 31.3 + second / 1e4, start + timedelta(seconds=second))},
        )
    await redis.xadd(names.positions, {"data": b'{"unit_id": "car-8"}'})
    while await consumer.process_once():
        pass
    latest = json.loads(await redis.hget(names.units_latest, "car-7"))
    assert latest["lat"] == pytest.approx(31.3 + 59 / 1e4)
    assert consumer.stats.fixes == 60
    assert consumer.stats.rejected == 1
    seconds = [int((u.at_ms - int(start.timestamp() * 1000)) / 1000) for u in stored]
    assert seconds[:3] == [0, 10, 20]
    assert all(b - a >= 10 for a, b in itertools.pairwise(seconds) if b > a)
    dead: Any = await redis.xrange(names.positions_dead)
    assert b"reason" in dead[0][1]


async def test_outage_banner_reaches_every_scope_and_snapshot(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """system.degraded goes to township screens too, and a new screen's snapshot carries it."""
    from realtime.degraded import DegradedStatus, announce_degraded

    async with gateway_at(redis, pool, names) as (url, _):
        town = await connect(url)
        await town.send(json.dumps({"type": "subscribe", "scope": YANGJIANG}))
        assert json.loads(await town.recv())["degraded"] == []
        status = DegradedStatus("storage", datetime(2026, 11, 26, 2, 0, tzinfo=UTC), "down", "test")
        assert await announce_degraded(redis, names, status, events_maxlen=1000)
        delta = json.loads(await asyncio.wait_for(town.recv(), 3))
        assert delta["event"]["type"] == "system.degraded"
        assert delta["event"]["component"] == "storage"
        late = await connect(url)
        await late.send(json.dumps({"type": "subscribe", "scope": CHUNXI}))
        snapshot = json.loads(await late.recv())
        assert [d["component"] for d in snapshot["degraded"]] == ["storage"]
        await town.close()
        await late.close()


async def test_gateway_losing_redis_tells_screens_then_resyncs_them(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames, servers: tuple[str, str]
) -> None:
    """While the gateway's Redis is away screens get a status; afterwards a fresh snapshot."""
    from app import _redis
    from tests.fault.tcp_proxy import proxy_to, via

    async with proxy_to(servers[0]) as proxy:
        # The client `app.py gateway` builds.
        gateway_redis = _redis(via(servers[0], proxy.port), read_retries=3)
        try:
            async with gateway_at(gateway_redis, pool, names) as (url, _):
                ws = await connect(url)
                await ws.send(json.dumps({"type": "subscribe", "scope": COUNTY}))
                assert json.loads(await ws.recv())["type"] == "snapshot"
                proxy.cut()
                status = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert status["type"] == "status"
                assert [d["component"] for d in status["degraded"]] == ["redis"]
                proxy.restore()
                again = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert (again["type"], again["reason"]) == ("snapshot", "behind")
                await redis.xadd(names.events, {"data": case_event(1, CHUNXI)})
                delta = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert delta["event"]["case_id"] == 1
                await ws.close()
        finally:
            await gateway_redis.aclose()


async def test_malformed_events_are_skipped_live_and_on_replay(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """A broken entry on the events stream harms neither live screens nor resuming ones."""
    first = await redis.xadd(names.events, {"data": case_event(1, CHUNXI)})
    async with gateway_at(redis, pool, names) as (url, _):
        live = await connect(url)
        await live.send(json.dumps({"type": "subscribe", "scope": COUNTY}))
        assert json.loads(await live.recv())["type"] == "snapshot"
        await redis.xadd(names.events, {"data": b"{not json"})
        await redis.xadd(names.events, {"other": b"field"})
        await redis.xadd(names.events, {"data": case_event(2, CHUNXI)})
        delta = json.loads(await asyncio.wait_for(live.recv(), 5))
        assert delta["event"]["case_id"] == 2
        resumed = await connect(url)
        await resumed.send(
            json.dumps({"type": "subscribe", "scope": COUNTY, "since": first.decode()})
        )
        replay = json.loads(await asyncio.wait_for(resumed.recv(), 5))
        assert replay["type"] == "replay"
        assert [d["event"]["case_id"] for d in replay["deltas"]] == [2]
        await live.close()
        await resumed.close()


async def test_a_console_subscribed_without_figures_gets_no_kpi_snapshots(
    redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames
) -> None:
    """`kpis: false` spares a console the walls' figures, live and on replay; a wall gets them."""
    kpi = json.dumps(
        {"schema": "event/1", "type": "kpi.snapshot", "township_code": COUNTY, "kpis": {}}
    ).encode()
    first = await redis.xadd(names.events, {"data": case_event(1, CHUNXI)})
    async with gateway_at(redis, pool, names) as (url, _):
        console, wall = await connect(url), await connect(url)
        await console.send(json.dumps({"type": "subscribe", "scope": COUNTY, "kpis": False}))
        await wall.send(json.dumps({"type": "subscribe", "scope": COUNTY}))
        for ws in (console, wall):
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"
        await redis.xadd(names.events, {"data": kpi})
        await redis.xadd(names.events, {"data": case_event(2, CHUNXI)})
        assert json.loads(await asyncio.wait_for(wall.recv(), 5))["event"]["type"] == "kpi.snapshot"
        assert json.loads(await asyncio.wait_for(wall.recv(), 5))["event"]["case_id"] == 2
        assert json.loads(await asyncio.wait_for(console.recv(), 5))["event"]["case_id"] == 2
        resumed = await connect(url)
        subscribe = {"type": "subscribe", "scope": COUNTY, "since": first.decode(), "kpis": False}
        await resumed.send(json.dumps(subscribe))
        replay = json.loads(await asyncio.wait_for(resumed.recv(), 5))
        assert [d["event"]["case_id"] for d in replay["deltas"]] == [2]
        for ws in (console, wall, resumed):
            await ws.close()
