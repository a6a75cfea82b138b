"""The websocket gateway: one fan-out path from the events stream to every connected screen.

A client subscribes with a jurisdiction scope, receives a snapshot (or the exact events it
missed when it resumes), then ordered deltas carrying the stream id. Filtering happens here,
on the server: a connection never receives a case outside its scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from incidents import repository
from realtime.live_protocol import (
    ProtocolError,
    Subscribe,
    encode,
    parse_subscribe,
    scope_prefix,
    stream_id_key,
)
from realtime.streams import DATA_FIELD, StreamNames

log = logging.getLogger(__name__)

Delta = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Tuning of the gateway."""

    snapshot_limit: int = 500
    client_queue: int = 2000
    replay_limit: int = 5000
    subscribe_timeout: float = 10.0
    block_ms: int = 1000


@dataclass(eq=False)
class _Client:
    """One connection's filter and its bounded queue of deltas."""

    prefix: str
    queue: asyncio.Queue[Delta]
    overflowed: bool = False
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, delta: Delta) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(delta)
        except asyncio.QueueFull:
            # Too far behind: drop the backlog; the sender will start over from a snapshot.
            self.overflowed = True
            self.wakeup.set()


def _visible(event: dict[str, Any], prefix: str) -> bool:
    case = event.get("case")
    township = case.get("township_code") if isinstance(case, dict) else None
    return isinstance(township, str) and township.startswith(prefix)


class Gateway:
    """Reads the events stream once and fans each event out to the clients that may see it."""

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        names: StreamNames,
        settings: GatewaySettings | None = None,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._names = names
        self._settings = settings or GatewaySettings()
        self._clients: set[_Client] = set()

    @property
    def client_count(self) -> int:
        """Connections currently subscribed."""
        return len(self._clients)

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Accept connections until `stop` is set."""
        pump = asyncio.create_task(self._pump(stop))
        try:
            async with serve(self._handle, host, port, max_size=64 * 1024):
                log.info("gateway listening on ws://%s:%d", host, port)
                await stop.wait()
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _last_stream_id(self) -> str:
        newest: Any = await self._redis.xrevrange(self._names.events, count=1)
        return newest[0][0].decode() if newest else "0-0"

    async def _pump(self, stop: asyncio.Event) -> None:
        """The single reader of the events stream."""
        last = await self._last_stream_id()
        while not stop.is_set():
            try:
                response: Any = await self._redis.xread(
                    {self._names.events: last}, count=500, block=self._settings.block_ms
                )
            except (OSError, ConnectionError) as exc:
                log.warning("gateway lost Redis (%r); retrying", exc)
                await asyncio.sleep(0.5)
                continue
            for _, entries in response or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    self._fan_out(last, fields)

    def _fan_out(self, stream_id: str, fields: dict[bytes, bytes]) -> None:
        try:
            event = json.loads(fields[DATA_FIELD])
        except (KeyError, ValueError):
            log.error("skipping malformed event %s", stream_id)
            return
        for client in self._clients:
            if _visible(event, client.prefix):
                client.offer((stream_id, event))

    async def _handle(self, connection: ServerConnection) -> None:
        try:
            raw = await asyncio.wait_for(connection.recv(), self._settings.subscribe_timeout)
            subscription = parse_subscribe(raw)
        except (ProtocolError, TimeoutError) as exc:
            reason = str(exc) or "no subscribe message in time"
            await connection.send(encode({"type": "error", "reason": reason}))
            await connection.close(code=1008, reason="protocol error")
            return
        except ConnectionClosed:
            return
        client = _Client(
            scope_prefix(subscription.scope), asyncio.Queue(self._settings.client_queue)
        )
        self._clients.add(client)  # before the snapshot, so nothing falls in between
        try:
            await self._stream_to(connection, client, subscription)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)

    async def _stream_to(
        self, connection: ServerConnection, client: _Client, subscription: Subscribe
    ) -> None:
        last = await self._catch_up(connection, client, subscription.since, subscription.scope)
        # A client that goes away must end this loop even while no delta is waiting for it.
        closed = asyncio.ensure_future(connection.wait_closed())
        try:
            while not closed.done():
                if client.overflowed:
                    last = await self._restart(connection, client, subscription.scope)
                    continue
                get = asyncio.ensure_future(client.queue.get())
                woke = asyncio.ensure_future(client.wakeup.wait())
                done, _ = await asyncio.wait(
                    {get, woke, closed}, return_when=asyncio.FIRST_COMPLETED
                )
                woke.cancel()
                if get not in done:
                    get.cancel()
                    continue
                stream_id, event = get.result()
                if stream_id_key(stream_id) <= stream_id_key(last):
                    continue  # already covered by the snapshot or the replay
                await connection.send(encode({"type": "delta", "id": stream_id, "event": event}))
                last = stream_id
        finally:
            closed.cancel()

    async def _restart(self, connection: ServerConnection, client: _Client, scope: str) -> str:
        client.queue = asyncio.Queue(self._settings.client_queue)
        client.overflowed = False
        client.wakeup.clear()
        return await self._send_snapshot(connection, client, scope, reason="behind")

    async def _catch_up(
        self, connection: ServerConnection, client: _Client, since: str | None, scope: str
    ) -> str:
        """Replay exactly what a resuming client missed, or send a fresh snapshot."""
        if since is not None:
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
                    event = json.loads(fields[DATA_FIELD])
                    if _visible(event, client.prefix):
                        deltas.append({"id": last, "event": event})
                await connection.send(
                    encode({"type": "replay", "since": since, "last_id": last, "deltas": deltas})
                )
                return last
        return await self._send_snapshot(connection, client, scope, reason="subscribe")

    async def _send_snapshot(
        self, connection: ServerConnection, client: _Client, scope: str, reason: str
    ) -> str:
        last = await self._last_stream_id()
        async with self._pool.acquire() as conn:
            cases = await repository.open_cases(conn, client.prefix, self._settings.snapshot_limit)
        await connection.send(
            encode(
                {
                    "type": "snapshot",
                    "scope": scope,
                    "reason": reason,
                    "last_id": last,
                    "cases": cases,
                }
            )
        )
        return last
