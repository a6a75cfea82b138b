"""A field terminal's session on the gateway: hello, its numbered messages in, answers out.

The protocol (validation, credentials, in-order acceptance) is `realtime.terminals`; this is
the part that runs per connection: who the terminal is, the welcome, the reader that turns
each message into an answer for the client's buffer, and its snapshot (the unit's tasks).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from incidents.store.tracks import active_tasks
from realtime.fanout import Client, Frame
from realtime.live_protocol import VERDICTS, Rejected, SnapshotReason, Tasks, Welcome, encode
from realtime.streams import StreamNames
from realtime.terminals import (
    Hello,
    TerminalError,
    TerminalGate,
    authenticate,
    last_accepted,
    parse_hello,
    parse_message,
)


@dataclass(frozen=True, slots=True)
class TerminalIdentity:
    """A terminal that said hello with a valid token."""

    hello: Hello
    unit_id: str
    last_seq: int

    def welcome(self) -> bytes:
        """The first message back: the unit and the last seq accepted from this terminal."""
        return encode(
            Welcome(
                terminal_id=self.hello.terminal_id, unit_id=self.unit_id, last_seq=self.last_seq
            )
        )


class TerminalSessions:
    """Opens terminal sessions and runs their message readers."""

    def __init__(self, redis: aioredis.Redis, pool: asyncpg.Pool, names: StreamNames) -> None:
        self._redis = redis
        self._pool = pool
        self._names = names
        self._gate = TerminalGate(redis, names)

    async def identify(self, raw: str | bytes, source_address: str | None) -> TerminalIdentity:
        """Who sent this hello; raise TerminalError for a bad hello or credential."""
        hello = parse_hello(raw)
        unit_id = await authenticate(self._pool, hello, source_address, datetime.now(UTC))
        last_seq = await last_accepted(self._redis, self._names, hello.terminal_id)
        return TerminalIdentity(hello, unit_id, last_seq)

    async def read(
        self, connection: ServerConnection, client: Client, identity: TerminalIdentity
    ) -> None:
        """Validate each message and accept it in sequence; answers go out through the buffer."""
        terminal_id = identity.hello.terminal_id
        with contextlib.suppress(ConnectionClosed):
            async for raw in connection:
                try:
                    message = parse_message(raw, datetime.now(UTC))
                except TerminalError as exc:
                    client.offer(Frame(encode(Rejected(reason=str(exc)))))
                    continue
                verdict = await self._gate.accept(terminal_id, identity.unit_id, message)
                answer = VERDICTS[verdict.outcome](seq=message.seq, last_seq=verdict.last)
                client.offer(Frame(encode(answer)))

    async def tasks(self, unit_id: str, last_id: str, reason: SnapshotReason) -> bytes:
        """A terminal's snapshot: the unit's open assignments, current to `last_id`."""
        async with self._pool.acquire() as conn:
            tasks = await active_tasks(conn, unit_id)
        return encode(Tasks(reason=reason, last_id=last_id, tasks=tasks))
