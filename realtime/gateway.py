"""The websocket gateway: a thin `websockets` adapter around the pure fan-out core.

One task reads Redis (events and positions in one blocking XREAD) and hands each read to
`realtime.fanout`, which decides, once per audience, which screens see which events and
returns the writes for screens that are caught up; this module only performs them (and
wakes the senders of screens that got frames buffered). Each connection has a sender that
drains its buffer, and a reader that notices the close (or, for a field terminal, takes its
numbered messages: `realtime.terminal_session`). Positions are coalesced per unit
(`realtime.position_coalescer`) and flushed on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from incidents.access import scope_prefix
from incidents.store import accounts, queries
from realtime.degraded import DegradedNotice, current_degraded, notice_of
from realtime.fanout import (
    Broadcast,
    Client,
    Frame,
    Viewer,
    catch_up,
    deliver,
    fan_out,
    grouped,
    plain_wire,
)
from realtime.live_protocol import (
    CASE_FIELDS,
    Error,
    ProtocolError,
    Snapshot,
    SnapshotReason,
    Status,
    case_rows,
    encode,
    parse_subscribe,
    stream_id_key,
)
from realtime.outages import OUTAGES
from realtime.position_coalescer import LocateTownship, PositionCoalescer
from realtime.positions import latest_positions
from realtime.screen_access import (
    ScreenRefused,
    ended_sessions,
    identify,
    terminal_session_key,
)
from realtime.screens import authorize
from realtime.streams import DATA_FIELD, StreamNames
from realtime.terminal_session import TerminalSessions
from realtime.terminals import TerminalError, is_hello
from realtime.watchdog import run_watchdog

log = logging.getLogger(__name__)

# Builds a client's snapshot (the reason it is sent, the stream id it is current to).
SnapshotBuilder = Callable[[SnapshotReason, str], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Tuning of the gateway."""

    # Every open case in scope goes in the snapshot (a queue or map holding only the newest
    # few hid the rest); the limit only bounds memory against a runaway backlog.
    snapshot_limit: int = 50_000
    client_queue: int = 2000
    replay_limit: int = 5000
    subscribe_timeout: float = 10.0
    block_ms: int = 1000
    read_count: int = 1000
    position_flush_seconds: float = 0.5
    snapshot_concurrency: int = 8
    require_screen_tokens: bool = False
    pump_interval_seconds: float = 0.02
    # Screens must present a signed-in session (the page's cookie) whose user may watch the
    # scope asked for; off only for tests of fan-out itself and for benches.
    require_session: bool = True
    # Browser origins allowed to open a socket (None in the list: clients that send none,
    # terminals and subscribers); None: any origin.
    allowed_origins: tuple[str | None, ...] | None = None
    max_connections_per_address: int = 500
    session_check_seconds: float = 5.0
    # A caught-up connection is written to directly while its socket holds less than this;
    # above it, frames wait in the connection's bounded buffer and its sender drains them.
    # The same as websockets' own high-water mark, so a lagging screen holds no more bytes
    # in its socket buffer than the sender's `send` would let it.
    direct_write_limit: int = 32 * 1024


@dataclass
class GatewayStats:
    """Counters for tests and metrics."""

    events: int = 0
    positions: int = 0
    position_messages: int = 0
    behind_snapshots: int = 0
    direct_messages: int = 0


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


def _address_of(socket: ServerConnection) -> str | None:
    """The peer's address, if the transport knows it."""
    return str(socket.remote_address[0]) if socket.remote_address else None


class _Connection:
    """A client of the core together with its socket and the event that wakes its sender."""

    def __init__(self, client: Client, socket: ServerConnection) -> None:
        self.client = client
        self.socket = socket
        self.ready = asyncio.Event()
        client.wake = self.ready.set


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
        self._connections: dict[Client, _Connection] = {}
        self._positions = PositionCoalescer(locate_township)
        self._redis_down_since: datetime | None = None
        # Hundreds of screens reconnect at once after a restart: build their snapshots a few
        # at a time instead of exhausting the Redis and PostgreSQL pools.
        self._snapshot_slots = asyncio.Semaphore(self._settings.snapshot_concurrency)
        self._terminals = TerminalSessions(redis, pool, names)
        self._per_address: dict[str, int] = {}
        self._sessions: dict[Client, str] = {}  # screen -> the session id it was opened with
        self.stats = GatewayStats()

    @property
    def client_count(self) -> int:
        """Connections currently subscribed."""
        return len(self._connections)

    def metrics(self) -> str:
        """This gateway's Prometheus text."""
        terminals = sum(1 for c in self._connections if c.viewer.unit_id is not None)
        return render_gateway_metrics(self.stats, len(self._connections), terminals)

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Accept connections until `stop` is set."""
        # As in the worker: what exists now lives as long as the process, and a full
        # collection over it would stall every screen's deltas at once.
        gc.collect()
        gc.freeze()
        tasks = [
            asyncio.create_task(self._pump(stop)),
            asyncio.create_task(self._flush_positions(stop)),
            asyncio.create_task(
                run_watchdog(self._redis, self._names, f"system:watchdog:gateway:{port}", stop)
            ),
            asyncio.create_task(self._check_sessions(stop)),
        ]
        try:
            # No permessage-deflate: it would compress every frame once per connection, the
            # largest cost of fan-out; screens sit on the centre's network.
            origins = self._settings.allowed_origins
            async with serve(
                self._handle,
                host,
                port,
                max_size=64 * 1024,
                compression=None,
                origins=None
                if origins is None
                else [None if o is None else Origin(o) for o in origins],
            ):
                log.info("gateway listening on ws://%s:%d", host, port)
                await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # --- reading Redis ----------------------------------------------------------------------

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
                    fixes = (f for _, f in entries)
                    self.stats.positions += self._positions.absorb(fixes, datetime.now(UTC))

    def _writable(self, client: Client) -> bool:
        """Does the client's socket keep pace (below the direct-write limit)?"""
        transport = self._connections[client].socket.transport
        return (
            transport is not None
            and transport.get_write_buffer_size() <= self._settings.direct_write_limit
        )

    def _write(self, writes: Sequence[Broadcast]) -> None:
        for write in writes:
            sockets = [self._connections[client].socket for client in write.clients]
            for message in write.messages:
                broadcast(sockets, message, text=True)
            self.stats.direct_messages += len(sockets)

    def _fan_out(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Hand one read to the core and perform the direct writes it returns."""
        read = [(entry_id.decode(), fields.get(DATA_FIELD, b"")) for entry_id, fields in entries]
        writes, valid = fan_out(self._connections, read, self._writable)
        if valid < len(entries):
            log.error("skipped %d malformed events", len(entries) - valid)
        self.stats.events += valid
        self._write(writes)

    async def _flush_positions(self, stop: asyncio.Event) -> None:
        """Every flush interval, send each screen the units that moved, once per unit."""
        while not stop.is_set():
            await asyncio.sleep(self._settings.position_flush_seconds)
            if not self._connections:
                continue
            units = self._positions.take_moved()
            if not units:
                continue
            try:
                screens = [c for c in self._connections if c.viewer.unit_id is None]
                by_scope = grouped(screens, lambda c: c.viewer.prefix)
                messages = self._positions.messages(units, by_scope)
                for prefix, message in messages.items():
                    clients = by_scope[prefix]
                    self.stats.position_messages += len(clients)
                    write = deliver(clients, [Frame(message)], plain_wire, self._writable)
                    if write is not None:
                        self._write([write])
            except Exception:
                log.exception("positions flush failed; the next one carries on")

    def _announce_redis_down(self, exc: BaseException) -> None:
        if self._redis_down_since is not None:
            return
        self._redis_down_since = datetime.now(UTC)
        log.warning("gateway lost Redis (%r); retrying", exc)
        notice = DegradedNotice("redis", self._redis_down_since)
        frame = Frame(encode(Status(degraded=[notice])))
        for client in self._connections:
            client.offer(frame)

    async def _announce_redis_back(self, cursors: dict[str, str]) -> None:
        self._redis_down_since = None
        for stream, cursor in cursors.items():
            newest = await self._last_id(stream)
            if stream_id_key(newest) < stream_id_key(cursor):
                cursors[stream] = newest  # Redis came back with less than it had: follow it
        # Whatever happened while we were away, a fresh snapshot is the only honest state.
        for client in self._connections:
            client.restart()

    # --- connections ------------------------------------------------------------------------

    async def _handle(self, socket: ServerConnection) -> None:
        address = _address_of(socket) or "?"
        if self._per_address.get(address, 0) >= self._settings.max_connections_per_address:
            await self._refuse(socket, "too many connections from this address", "overload")
            return
        self._per_address[address] = self._per_address.get(address, 0) + 1
        try:
            await self._serve(socket, address)
        finally:
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]

    async def _serve(self, socket: ServerConnection, address: str) -> None:
        identity = None
        try:
            raw = await asyncio.wait_for(socket.recv(), self._settings.subscribe_timeout)
            if is_hello(raw):
                await self._serve_terminal(socket, raw)
                return
            subscription = parse_subscribe(raw)
            if subscription.token is not None or self._settings.require_screen_tokens:
                await authorize(self._redis, self._names, subscription.token, subscription.scope)
            elif self._settings.require_session:
                cookie = socket.request.headers.get("Cookie") if socket.request else None
                identity = await identify(self._pool, cookie, subscription.scope, datetime.now(UTC))
        except ScreenRefused as exc:
            await self._audit_refusal(address, str(exc))
            await self._refuse(socket, str(exc), "not allowed")
            return
        except (ProtocolError, TimeoutError) as exc:
            await self._refuse(socket, str(exc) or "no subscribe message in time", "protocol error")
            return
        except ConnectionClosed:
            return
        viewer = Viewer(scope_prefix(subscription.scope), kpis=subscription.kpis)
        client = Client(viewer, subscription.batch, self._settings.client_queue)
        if identity is not None:
            self._sessions[client] = identity.session_id

        async def snapshot(reason: SnapshotReason, last_id: str) -> bytes:
            return await self._snapshot(
                viewer, subscription.scope, reason, last_id, subscription.compact
            )

        # Attached before the snapshot, so nothing falls in between.
        try:
            async with self._attached(client, socket, self._read_until_closed) as connection:
                await self._stream_to(connection, subscription.since, snapshot)
        finally:
            self._sessions.pop(client, None)

    async def _audit_refusal(self, address: str, reason: str) -> None:
        """Every refused subscription is in the audit trail (never with the cookie)."""
        try:
            async with self._pool.acquire() as conn:
                await accounts.record_audit(
                    conn,
                    at=datetime.now(UTC),
                    user_id=None,
                    role=None,
                    source_address=address,
                    action="gateway.subscribe",
                    outcome="refused",
                    detail=reason[:300],
                )
        except Exception:
            log.warning("could not audit a refused subscription", exc_info=True)

    async def _check_sessions(self, stop: asyncio.Event) -> None:
        """Close the sockets of sessions that ended (signed out, revoked, idle, disabled)."""
        while not stop.is_set():
            await asyncio.sleep(self._settings.session_check_seconds)
            if not self._sessions:
                continue
            try:
                ended = await ended_sessions(
                    self._pool, set(self._sessions.values()), datetime.now(UTC)
                )
            except Exception:
                log.warning("session check failed; the next one retries", exc_info=True)
                continue
            for client, session_id in list(self._sessions.items()):
                connection = self._connections.get(client)
                if session_id in ended and connection is not None:
                    await self._refuse(connection.socket, "your session has ended", "signed out")

    async def _refuse(self, socket: ServerConnection, reason: str, close_reason: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await socket.send(encode(Error(reason=reason)), text=True)
            await socket.close(code=1008, reason=close_reason)

    async def _serve_terminal(self, socket: ServerConnection, raw: str | bytes) -> None:
        """A field terminal: its tasks out, its numbered messages in (see terminal_session)."""
        try:
            identity = await self._terminals.identify(raw, _address_of(socket))
        except TerminalError as exc:
            await self._refuse(socket, str(exc), "authentication failed")
            return
        unit_id = identity.unit_id
        client = Client(Viewer("", unit_id=unit_id), True, self._settings.client_queue)

        async def reader(connection: _Connection) -> None:
            await self._terminals.read(connection.socket, connection.client, identity)

        async def snapshot(reason: SnapshotReason, last_id: str) -> bytes:
            return await self._terminals.tasks(unit_id, last_id, reason)

        # Checked with the screens' sessions: a revoked or rotated credential closes the socket.
        self._sessions[client] = terminal_session_key(identity.hello.token)
        try:
            async with self._attached(client, socket, reader) as connection:
                await socket.send(identity.welcome(), text=True)
                await self._stream_to(connection, identity.hello.since, snapshot)
        finally:
            self._sessions.pop(client, None)

    @contextlib.asynccontextmanager
    async def _attached(
        self,
        client: Client,
        socket: ServerConnection,
        reader: Callable[[_Connection], Coroutine[Any, Any, None]],
    ) -> AsyncIterator[_Connection]:
        """The client receives fan-out and its reader runs until the block ends or it hangs up."""
        connection = _Connection(client, socket)
        self._connections[client] = connection

        async def read_then_close() -> None:
            await reader(connection)
            client.closed = True
            connection.ready.set()

        task = asyncio.create_task(read_then_close())
        try:
            yield connection
        except ConnectionClosed:
            pass
        finally:
            self._connections.pop(client, None)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read_until_closed(self, connection: _Connection) -> None:
        """Screens send nothing after subscribing; reading notices the close promptly."""
        with contextlib.suppress(ConnectionClosed):
            async for _ in connection.socket:
                pass

    async def _stream_to(
        self, connection: _Connection, since: str | None, snapshot: SnapshotBuilder
    ) -> None:
        """The sender: catch up, then drain the buffer whenever the core fills it."""
        client, socket = connection.client, connection.socket
        message, last = await self._catch_up(client.viewer, since, snapshot)
        await socket.send(message, text=True)
        client.resumed_at(last)
        while not client.closed:
            messages = client.drain()
            if messages is None:
                self.stats.behind_snapshots += 1
                client.start_over()
                async with self._snapshot_slots:
                    last = await self._last_id(self._names.events)
                    message = await snapshot("behind", last)
                await socket.send(message, text=True)
                client.resumed_at(last)
                continue
            if not messages:
                connection.ready.clear()
                client.live = True  # until the core buffers a frame for it again
                await connection.ready.wait()
                continue
            for text in messages:
                await socket.send(text, text=True)

    async def _catch_up(
        self, viewer: Viewer, since: str | None, snapshot: SnapshotBuilder
    ) -> tuple[bytes, str]:
        """The replay of exactly what a resuming client missed, or a fresh snapshot."""
        async with self._snapshot_slots:
            if since is not None:
                missed: Any = await self._redis.xrange(
                    self._names.events, min="(" + since, count=self._settings.replay_limit + 1
                )
                oldest: Any = await self._redis.xrange(self._names.events, count=1)
                entries = [(i.decode(), f.get(DATA_FIELD, b"")) for i, f in missed]
                held = oldest[0][0].decode() if oldest else None
                replay = catch_up(viewer, since, held, entries, self._settings.replay_limit)
                if replay is not None:
                    message, last = replay
                    return encode(message), last
            last = await self._last_id(self._names.events)
            return await snapshot("subscribe", last), last

    async def _snapshot(
        self,
        viewer: Viewer,
        scope: str,
        reason: SnapshotReason,
        last_id: str,
        compact: bool = False,
    ) -> bytes:
        """A screen's snapshot: open cases, units and outages in scope, current to `last_id`."""
        async with self._pool.acquire() as conn:
            cases = await queries.open_cases(conn, viewer.prefix, self._settings.snapshot_limit)
        towns: dict[str, str | None] = {}
        units = [
            u
            for u in await latest_positions(self._redis, self._names)
            if self._positions.in_scope(u, viewer.prefix, towns)
        ]
        degraded = [notice_of(s) for s in await current_degraded(self._redis, self._names)]
        return encode(
            Snapshot(
                scope=scope,
                reason=reason,
                last_id=last_id,
                cases=[] if compact else cases,
                units=units,
                degraded=degraded,
                case_fields=CASE_FIELDS if compact else None,
                case_rows=case_rows(cases) if compact else None,
            )
        )
