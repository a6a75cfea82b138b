"""The websocket gateway: one fan-out path from the events stream to every connected screen.

A client subscribes with a jurisdiction scope, receives a snapshot (or the exact events it
missed when it resumes), then ordered deltas carrying the stream id. Filtering happens here,
on the server: a connection never receives a case outside its scope.

One task reads Redis (events and positions in one blocking XREAD). Each read is filtered and
encoded once per audience (connections with the same scope and mode), then written straight
to every connection of that audience that is caught up and whose socket keeps pace. A
connection that is catching up or falling behind gets the frames through a bounded buffer
and its own sender instead, so a slow screen only ever delays itself. Positions are
coalesced per unit and flushed on a timer: a screen receives at most one positions message
per flush interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import msgspec
import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from incidents.store import queries
from incidents.store.tracks import active_tasks
from realtime.degraded import current_degraded
from realtime.live_protocol import (
    PROTOCOL,
    ProtocolError,
    Subscribe,
    encode,
    parse_subscribe,
    scope_prefix,
    stream_id_key,
)
from realtime.outages import OUTAGES
from realtime.positions import (
    PositionRejected,
    UnitPosition,
    decode_fix,
    latest_positions,
    to_unit_position,
)
from realtime.screens import authorize
from realtime.streams import DATA_FIELD, StreamNames
from realtime.terminals import (
    TerminalError,
    TerminalGate,
    authenticate,
    is_hello,
    last_accepted,
    parse_hello,
    parse_message,
)

log = logging.getLogger(__name__)

LocateTownship = Callable[[float, float], str]
StreamKey = tuple[int, int]
COUNTY_PREFIX_LENGTH = 6


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Tuning of the gateway."""

    snapshot_limit: int = 500
    client_queue: int = 2000
    replay_limit: int = 5000
    subscribe_timeout: float = 10.0
    block_ms: int = 1000
    read_count: int = 1000
    position_flush_seconds: float = 0.5
    snapshot_concurrency: int = 8
    require_screen_tokens: bool = False
    pump_interval_seconds: float = 0.02
    # A caught-up connection is written to directly while its socket holds less than this;
    # above it, frames wait in the connection's bounded buffer and its sender drains them.
    # The same as websockets' own high-water mark, so a lagging screen holds no more bytes
    # in its socket buffer than the sender's `send` would let it.
    direct_write_limit: int = 32 * 1024


class _CaseRef(msgspec.Struct):
    township_code: str | None = None


class _Route(msgspec.Struct):
    """The few fields of an event that decide who may see it."""

    type: str = ""
    case: _CaseRef | None = None
    township_code: str | None = None
    unit_id: str | None = None


_route_decoder = msgspec.json.Decoder(_Route)


def _route_of(fields: dict[bytes, bytes]) -> _Route | None:
    """Who may see an events-stream entry; None for an entry that is not a valid event."""
    raw = fields.get(DATA_FIELD)
    if raw is None:
        return None
    try:
        return _route_decoder.decode(raw)
    except msgspec.DecodeError:
        return None


def _visible(route: _Route, prefix: str) -> bool:
    if route.case is not None:
        township = route.case.township_code
        return township is not None and township.startswith(prefix)
    if route.township_code is not None:
        return route.township_code.startswith(prefix)
    if route.type.startswith("system."):
        return True  # outages concern every screen
    return len(prefix) <= COUNTY_PREFIX_LENGTH  # anything unplaced: county screens only


@dataclass(frozen=True, slots=True)
class _Frame:
    """A delta (stream id + event JSON) or a ready-to-send message (key None)."""

    text: str
    stream_id: str = ""
    key: StreamKey | None = None


Audience = tuple[str | None, str, bool]
K = TypeVar("K")


@dataclass(eq=False)
class _Client:
    """One connection's filter, its bounded buffer of frames, and whether it is caught up."""

    prefix: str
    batch: bool
    limit: int
    connection: ServerConnection
    unit_id: str | None = None  # set for a field terminal: it sees its unit's tasks only
    items: deque[_Frame] = field(default_factory=deque)
    overflowed: bool = False
    closed: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by the sender when it has sent everything and waits: only then may the pump write
    # to the connection itself, so the two never interleave and order is kept.
    live: bool = False
    last_key: StreamKey = (0, 0)  # the newest delta this connection has been sent

    @property
    def audience(self) -> Audience:
        """Clients with the same audience see exactly the same frames."""
        return (self.unit_id, self.prefix, self.batch)

    def sees(self, route: _Route) -> bool:
        if self.unit_id is not None:
            return route.unit_id == self.unit_id
        return _visible(route, self.prefix)

    def writable(self, limit: int) -> bool:
        """Caught up, idle and keeping pace: the pump may write to it directly."""
        if not self.live:
            return False
        transport = self.connection.transport
        return transport is not None and transport.get_write_buffer_size() <= limit

    def restart(self) -> None:
        """Drop the buffer; the sender starts over from a fresh snapshot."""
        self.live = False
        self.overflowed = True
        self.items.clear()
        self.ready.set()

    def offer(self, frame: _Frame) -> None:
        self.live = False
        if self.overflowed:
            return
        if len(self.items) >= self.limit:
            # Too far behind: drop the backlog; the sender will start over from a snapshot.
            self.overflowed = True
            self.items.clear()
        else:
            self.items.append(frame)
        self.ready.set()


@dataclass
class GatewayStats:
    """Counters for tests and metrics."""

    events: int = 0
    positions: int = 0
    position_messages: int = 0
    behind_snapshots: int = 0
    direct_messages: int = 0


_UNIT_FIELDS = '["unit_id","lon","lat","at_ms","speed","heading"]'
_positions_encoder = msgspec.json.Encoder()
UnitRow = tuple[str, float, float, int, float | None, float | None]


def _unit_row(unit: UnitPosition) -> UnitRow:
    """A unit as a compact row; 6 decimals of a degree are about 0.1 m."""
    return (
        unit.unit_id,
        round(unit.lon, 6),
        round(unit.lat, 6),
        unit.at_ms,
        unit.speed,
        unit.heading,
    )


def render_gateway_metrics(stats: GatewayStats, clients: int, terminals: int) -> str:
    """The gateway's own Prometheus text (append it to `metrics_text` on its /metrics)."""
    rows = (
        ("pingan_gateway_screens", "gauge", "Screens subscribed now.", clients - terminals),
        ("pingan_gateway_terminals", "gauge", "Field terminals connected now.", terminals),
        ("pingan_gateway_events_total", "counter", "Events fanned out.", stats.events),
        ("pingan_gateway_positions_total", "counter", "Position fixes read.", stats.positions),
        (
            "pingan_gateway_position_messages_total",
            "counter",
            "Coalesced positions messages sent or queued.",
            stats.position_messages,
        ),
        (
            "pingan_gateway_direct_messages_total",
            "counter",
            "Messages written straight to caught-up connections (the rest go through buffers).",
            stats.direct_messages,
        ),
        (
            "pingan_gateway_behind_snapshots_total",
            "counter",
            "Fresh snapshots sent to screens that fell behind.",
            stats.behind_snapshots,
        ),
    )
    lines = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return "\n".join(lines) + "\n"


def _delta_text(frame: _Frame) -> str:
    return f'{{"v":"{PROTOCOL}","type":"delta","id":"{frame.stream_id}","event":{frame.text}}}'


def _deltas_text(frames: Sequence[_Frame]) -> str:
    body = ",".join(f'{{"id":"{f.stream_id}","event":{f.text}}}' for f in frames)
    return f'{{"v":"{PROTOCOL}","type":"deltas","deltas":[{body}]}}'


def _batch_wire(frames: Sequence[_Frame]) -> list[bytes]:
    return [_deltas_text(frames).encode()]


def _delta_wire(frames: Sequence[_Frame]) -> list[bytes]:
    return [_delta_text(frame).encode() for frame in frames]


def _plain_wire(frames: Sequence[_Frame]) -> list[bytes]:
    return [frame.text.encode() for frame in frames]


def _grouped(clients: Iterable[_Client], key: Callable[[_Client], K]) -> dict[K, list[_Client]]:
    """Clients by a key, in the order met."""
    groups: dict[K, list[_Client]] = {}
    for client in clients:
        groups.setdefault(key(client), []).append(client)
    return groups


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Gateway:
    """Reads the events stream once and fans each event out to the clients that may see it."""

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        names: StreamNames,
        settings: GatewaySettings | None = None,
        *,
        locate_township: LocateTownship | None = None,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._names = names
        self._settings = settings or GatewaySettings()
        self._locate_township = locate_township
        self._clients: set[_Client] = set()
        self._latest: dict[str, UnitPosition] = {}
        self._dirty: set[str] = set()
        self._redis_down_since: str | None = None
        # Hundreds of screens reconnect at once after a restart: build their snapshots a few
        # at a time instead of exhausting the Redis and PostgreSQL pools.
        self._snapshot_slots = asyncio.Semaphore(self._settings.snapshot_concurrency)
        self._gate = TerminalGate(redis, names)
        self.stats = GatewayStats()

    @property
    def client_count(self) -> int:
        """Connections currently subscribed."""
        return len(self._clients)

    def metrics(self) -> str:
        """This gateway's Prometheus text."""
        terminals = sum(1 for c in self._clients if c.unit_id is not None)
        return render_gateway_metrics(self.stats, len(self._clients), terminals)

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Accept connections until `stop` is set."""
        # As in the worker: what exists now lives as long as the process, and a full
        # collection over it would stall every screen's deltas at once.
        gc.collect()
        gc.freeze()
        tasks = [
            asyncio.create_task(self._pump(stop)),
            asyncio.create_task(self._flush_positions(stop)),
        ]
        try:
            # No permessage-deflate: it would compress every frame once per connection, the
            # largest cost of fan-out; screens sit on the centre's network.
            async with serve(self._handle, host, port, max_size=64 * 1024, compression=None):
                log.info("gateway listening on ws://%s:%d", host, port)
                await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _last_id(self, stream: str) -> str:
        newest: Any = await self._redis.xrevrange(stream, count=1)
        return newest[0][0].decode() if newest else "0-0"

    async def _pump(self, stop: asyncio.Event) -> None:
        """The single reader of the events and positions streams."""
        events, positions = self._names.events, self._names.positions
        cursors: dict[str, str] | None = None
        read_at = 0.0
        while not stop.is_set():
            # Reads at most every pump interval: each read then carries several events, so
            # each screen gets one frame per interval instead of one per event.
            pause = read_at + self._settings.pump_interval_seconds - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            read_at = time.monotonic()
            try:
                if cursors is None:
                    cursors = {events: await self._last_id(events)}
                    cursors[positions] = await self._last_id(positions)
                response: Any = await self._redis.xread(
                    dict(cursors),  # type: ignore[arg-type]  # redis-py's dict is invariant
                    count=self._settings.read_count,
                    block=self._settings.block_ms,
                )
                if self._redis_down_since is not None:
                    await self._announce_redis_back(cursors)
            except OUTAGES as exc:
                self._announce_redis_down(exc)
                await asyncio.sleep(0.5)
                continue
            except Exception:
                # The pump must outlive any surprise: screens depend on it and would wait forever.
                log.exception("gateway pump failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for stream_name, entries in response or []:
                stream = stream_name.decode()
                if not entries:
                    continue
                cursors[stream] = entries[-1][0].decode()
                if stream == events:
                    self._fan_out(entries)
                else:
                    self._absorb_positions(entries)

    def _fan_out(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Filter and encode one read once per audience, then deliver it to each member."""
        routed: list[tuple[_Route, _Frame]] = []
        for entry_id, fields in entries:
            stream_id = entry_id.decode()
            route = _route_of(fields)
            raw = fields.get(DATA_FIELD)
            if route is None or raw is None:
                log.error("skipping malformed event %s", stream_id)
                continue
            routed.append((route, _Frame(raw.decode("utf-8"), stream_id, stream_id_key(stream_id))))
        self.stats.events += len(routed)
        for audience, clients in _grouped(self._clients, lambda c: c.audience).items():
            frames = [frame for route, frame in routed if clients[0].sees(route)]
            if not frames:
                continue
            self._deliver(clients, frames, _batch_wire if audience[2] else _delta_wire)

    def _deliver(
        self,
        clients: Sequence[_Client],
        frames: Sequence[_Frame],
        wire: Callable[[Sequence[_Frame]], list[bytes]],
    ) -> None:
        """Write straight to the caught-up clients; buffer the frames for the others.

        `wire` encodes the frames as messages; it runs once, and only if some client is
        written to directly.
        """
        limit = self._settings.direct_write_limit
        oldest = frames[0].key
        direct: list[_Client] = []
        buffered: list[_Client] = []
        for client in clients:
            # A read that raced a resuming client's replay may hold deltas it already has:
            # its sender filters them out.
            fresh = oldest is None or oldest > client.last_key
            (direct if fresh and client.writable(limit) else buffered).append(client)
        if direct:
            connections = [c.connection for c in direct]
            for message in wire(frames):
                broadcast(connections, message, text=True)
            self.stats.direct_messages += len(connections)
            newest = frames[-1].key
            if newest is not None:
                for client in direct:
                    client.last_key = newest
        for client in buffered:
            for frame in frames:
                client.offer(frame)

    def _absorb_positions(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for _, fields in entries:
            try:
                unit = to_unit_position(decode_fix(fields))
            except PositionRejected:
                continue  # the positions consumer dead-letters it; screens just skip it
            known = self._latest.get(unit.unit_id)
            if known is None or known.at_ms <= unit.at_ms:
                self._latest[unit.unit_id] = unit
                self._dirty.add(unit.unit_id)
            self.stats.positions += 1

    def _in_scope(self, unit: UnitPosition, prefix: str, towns: dict[str, str]) -> bool:
        if len(prefix) <= COUNTY_PREFIX_LENGTH:
            return True
        if self._locate_township is None:
            return False  # without a map, only county screens may see units
        town = towns.get(unit.unit_id)
        if town is None:
            town = towns[unit.unit_id] = self._locate_township(unit.lon, unit.lat)
        return town.startswith(prefix)

    async def _flush_positions(self, stop: asyncio.Event) -> None:
        """Every flush interval, send each screen the units that moved, once per unit."""
        while not stop.is_set():
            await asyncio.sleep(self._settings.position_flush_seconds)
            if not self._dirty or not self._clients:
                continue
            units = [self._latest[u] for u in self._dirty]
            self._dirty.clear()
            try:
                self._send_units(units)
            except Exception:
                log.exception("positions flush failed; the next one carries on")

    def _send_units(self, units: Sequence[UnitPosition]) -> None:
        towns: dict[str, str] = {}
        screens = [c for c in self._clients if c.unit_id is None]
        for prefix, clients in _grouped(screens, lambda c: c.prefix).items():
            visible = [u for u in units if self._in_scope(u, prefix, towns)]
            if not visible:
                continue
            # Rows, not objects: 2,000 moving units stay a small message (see live-protocol.md).
            rows = _positions_encoder.encode([_unit_row(u) for u in visible]).decode()
            frame = _Frame(
                f'{{"v":"{PROTOCOL}","type":"positions","fields":{_UNIT_FIELDS},"units":{rows}}}'
            )
            self.stats.position_messages += len(clients)
            self._deliver(clients, [frame], _plain_wire)

    def _announce_redis_down(self, exc: BaseException) -> None:
        if self._redis_down_since is not None:
            return
        self._redis_down_since = _now()
        log.warning("gateway lost Redis (%r); retrying", exc)
        status = {
            "type": "status",
            "degraded": [{"component": "redis", "since": self._redis_down_since}],
        }
        frame = _Frame(encode(status))
        for client in self._clients:
            client.offer(frame)

    async def _announce_redis_back(self, cursors: dict[str, str]) -> None:
        self._redis_down_since = None
        for stream, cursor in cursors.items():
            newest = await self._last_id(stream)
            if stream_id_key(newest) < stream_id_key(cursor):
                cursors[stream] = newest  # Redis came back with less than it had: follow it
        # Whatever happened while we were away, a fresh snapshot is the only honest state.
        for client in self._clients:
            client.restart()

    async def _handle(self, connection: ServerConnection) -> None:
        try:
            raw = await asyncio.wait_for(connection.recv(), self._settings.subscribe_timeout)
            if is_hello(raw):
                await self._serve_terminal(connection, raw)
                return
            subscription = parse_subscribe(raw)
            if self._settings.require_screen_tokens or subscription.token is not None:
                await authorize(self._redis, self._names, subscription.token, subscription.scope)
        except (ProtocolError, TimeoutError) as exc:
            reason = str(exc) or "no subscribe message in time"
            with contextlib.suppress(ConnectionClosed):
                await connection.send(encode({"type": "error", "reason": reason}))
                await connection.close(code=1008, reason="protocol error")
            return
        except ConnectionClosed:
            return
        client = _Client(
            scope_prefix(subscription.scope),
            subscription.batch,
            self._settings.client_queue,
            connection,
        )
        # Attached before the snapshot, so nothing falls in between.
        async with self._attached(client, self._read_until_closed(connection, client)):
            await self._stream_to(connection, client, subscription)

    async def _serve_terminal(self, connection: ServerConnection, raw: str | bytes) -> None:
        """A field terminal: its tasks out, its numbered messages in (see realtime.terminals)."""
        try:
            hello = parse_hello(raw)
            unit_id = await authenticate(self._redis, self._names, hello)
        except TerminalError as exc:
            await connection.send(encode({"type": "error", "reason": str(exc)}))
            await connection.close(code=1008, reason="authentication failed")
            return
        last_seq = await last_accepted(self._redis, self._names, hello.terminal_id)
        client = _Client("", True, self._settings.client_queue, connection, unit_id=unit_id)
        reader = self._read_terminal(connection, client, hello.terminal_id, unit_id)
        async with self._attached(client, reader):
            await connection.send(
                encode(
                    {
                        "type": "welcome",
                        "terminal_id": hello.terminal_id,
                        "unit_id": unit_id,
                        "last_seq": last_seq,
                    }
                )
            )
            subscription = Subscribe(type="subscribe", scope="000000", since=hello.since)
            await self._stream_to(connection, client, subscription)

    @contextlib.asynccontextmanager
    async def _attached(
        self, client: _Client, reader: Coroutine[Any, Any, None]
    ) -> AsyncIterator[None]:
        """The client receives fan-out and its reader runs until the block ends or it hangs up."""
        self._clients.add(client)
        task = asyncio.create_task(reader)
        try:
            yield
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read_terminal(
        self, connection: ServerConnection, client: _Client, terminal_id: str, unit_id: str
    ) -> None:
        """Validate each message and accept it in sequence; answers go out through the queue."""
        with contextlib.suppress(ConnectionClosed):
            async for raw in connection:
                try:
                    message = parse_message(raw)
                except TerminalError as exc:
                    client.offer(_Frame(encode({"type": "rejected", "reason": str(exc)})))
                    continue
                verdict = await self._gate.accept(terminal_id, unit_id, message)
                answer = {"type": verdict.outcome, "seq": message.seq, "last_seq": verdict.last}
                client.offer(_Frame(encode(answer)))
        client.closed = True
        client.ready.set()

    async def _read_until_closed(self, connection: ServerConnection, client: _Client) -> None:
        """Screens send nothing after subscribing; reading notices the close promptly."""
        with contextlib.suppress(ConnectionClosed):
            async for _ in connection:
                pass
        client.closed = True
        client.ready.set()

    async def _stream_to(
        self, connection: ServerConnection, client: _Client, subscription: Subscribe
    ) -> None:
        last = await self._catch_up(connection, client, subscription.since, subscription.scope)
        client.last_key = stream_id_key(last)
        while not client.closed:
            if client.overflowed:
                self.stats.behind_snapshots += 1
                client.overflowed = False
                client.items.clear()
                last = await self._send_snapshot(
                    connection, client, subscription.scope, reason="behind"
                )
                client.last_key = stream_id_key(last)
                continue
            if not client.items:
                client.ready.clear()
                client.live = True  # until the pump buffers a frame for it again
                await client.ready.wait()
                continue
            frames, client.items = client.items, deque()
            batch: list[_Frame] = []
            for frame in frames:
                if frame.key is None:
                    if batch:
                        await connection.send(_deltas_text(batch))
                        batch = []
                    await connection.send(frame.text)
                    continue
                if frame.key <= client.last_key:
                    continue  # already covered by the snapshot or the replay
                client.last_key = frame.key
                if client.batch:
                    batch.append(frame)
                else:
                    await connection.send(_delta_text(frame))
            if batch:
                await connection.send(_deltas_text(batch))

    async def _catch_up(
        self, connection: ServerConnection, client: _Client, since: str | None, scope: str
    ) -> str:
        """Replay exactly what a resuming client missed, or send a fresh snapshot."""
        if since is not None:
            async with self._snapshot_slots:
                missed: Any = await self._redis.xrange(
                    self._names.events,
                    min="(" + since,
                    count=self._settings.replay_limit + 1,
                )
                oldest: Any = await self._redis.xrange(self._names.events, count=1)
            still_held = bool(oldest) and stream_id_key(oldest[0][0].decode()) <= stream_id_key(
                since
            )
            if still_held and len(missed) <= self._settings.replay_limit:
                last = since
                deltas = []
                for entry_id, fields in missed:
                    last = entry_id.decode()
                    route = _route_of(fields)
                    if route is not None and client.sees(route):
                        raw = fields[DATA_FIELD].decode("utf-8")
                        deltas.append(f'{{"id":"{last}","event":{raw}}}')
                await connection.send(
                    f'{{"v":"{PROTOCOL}","type":"replay","since":"{since}",'
                    f'"last_id":"{last}","deltas":[{",".join(deltas)}]}}'
                )
                return last
        return await self._send_snapshot(connection, client, scope, reason="subscribe")

    async def _send_snapshot(
        self, connection: ServerConnection, client: _Client, scope: str, reason: str
    ) -> str:
        async with self._snapshot_slots:
            last = await self._last_id(self._names.events)
            if client.unit_id is not None:
                return await self._send_tasks(connection, client.unit_id, last, reason)
            async with self._pool.acquire() as conn:
                cases = await queries.open_cases(conn, client.prefix, self._settings.snapshot_limit)
            towns: dict[str, str] = {}
            units = [
                msgspec.to_builtins(u)
                for u in await latest_positions(self._redis, self._names)
                if self._in_scope(u, client.prefix, towns)
            ]
            degraded = [
                {"component": s.component, "since": s.since.isoformat(), "reason": s.reason}
                for s in await current_degraded(self._redis, self._names)
            ]
        await connection.send(
            encode(
                {
                    "type": "snapshot",
                    "scope": scope,
                    "reason": reason,
                    "last_id": last,
                    "cases": cases,
                    "units": units,
                    "degraded": degraded,
                }
            )
        )
        return last

    async def _send_tasks(
        self, connection: ServerConnection, unit_id: str, last: str, reason: str
    ) -> str:
        """A terminal's snapshot: the unit's open assignments."""
        async with self._pool.acquire() as conn:
            tasks = await active_tasks(conn, unit_id)
        rows = [
            {**dataclasses.asdict(t), "dispatched_at": t.dispatched_at.isoformat()} for t in tasks
        ]
        await connection.send(
            encode({"type": "tasks", "reason": reason, "last_id": last, "tasks": rows})
        )
        return last
