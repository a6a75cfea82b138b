"""Field terminals (patrol units, grid workers, mobile teams) on the live gateway.

A terminal says `hello` with its id and token instead of subscribing. It then receives the
events of the tasks assigned to its unit, and sends numbered messages: ack, arrival,
feedback, position. Each message is validated like intake and accepted only in sequence
(`seq` = last accepted + 1), atomically with the sequence bump, so a terminal that was
offline can resend its whole queue on reconnect: repeats are acknowledged without effect,
and nothing is applied out of order. Accepted task messages go to the `terminals:inbox`
stream, where `TerminalInbox` applies them to cases through the case service, once each
(the causation id `terminal:<id>:<seq>` is checked in the case's event log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

import asyncpg
import msgspec
import redis.asyncio as aioredis

from incidents.commands import Acknowledge, Arrive, Command, ReportFeedback
from incidents.lifecycle import IllegalMove
from incidents.store import queries
from incidents.store.service import CaseNotFound, StaleCase
from incidents.store.terminal_credentials import authenticate_terminal
from realtime.group_reader import GroupReader
from realtime.positions import implausible_time
from realtime.stream_trim import DEAD_LETTER_CAP
from realtime.streams import DATA_FIELD, TERMINALS_GROUP, StreamNames

log = logging.getLogger(__name__)

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
_Seq = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
_CaseId = Annotated[int, msgspec.Meta(ge=1)]


class TerminalError(ValueError):
    """A terminal message that breaks the protocol; sent back as the reason."""


class Hello(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """First message of a terminal: who it is, its secret, where to resume its task feed."""

    type: Literal["hello"]
    terminal_id: _Id
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=256)]
    since: Annotated[str, msgspec.Meta(pattern=r"^\d{1,20}-\d{1,20}$")] | None = None


class AckTask(msgspec.Struct, tag="ack", forbid_unknown_fields=True, frozen=True):
    """签收: the unit has the task."""

    seq: _Seq
    case_id: _CaseId


class Arrival(msgspec.Struct, tag="arrival", forbid_unknown_fields=True, frozen=True):
    """到场: the unit is on scene."""

    seq: _Seq
    case_id: _CaseId


class Feedback(msgspec.Struct, tag="feedback", forbid_unknown_fields=True, frozen=True):
    """处置反馈: progress text, or completion."""

    seq: _Seq
    case_id: _CaseId
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    completed: bool = False


class PositionReport(msgspec.Struct, tag="position", forbid_unknown_fields=True, frozen=True):
    """The unit's position, as on the positions stream."""

    seq: _Seq
    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    at: Annotated[datetime, msgspec.Meta(tz=True)]
    speed: Annotated[float, msgspec.Meta(ge=0.0, le=1000.0)] | None = None
    heading: Annotated[float, msgspec.Meta(ge=0.0, le=360.0)] | None = None


TerminalMessage = AckTask | Arrival | Feedback | PositionReport
TaskMessage = AckTask | Arrival | Feedback


class InboxEntry(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A task message accepted from a terminal, waiting to be applied to its case."""

    terminal_id: str
    unit_id: str
    message: TaskMessage


_hello = msgspec.json.Decoder(Hello)
_message = msgspec.json.Decoder(TerminalMessage)
_inbox = msgspec.json.Decoder(InboxEntry)
MAX_MESSAGE_BYTES = 8192


def parse_hello(raw: str | bytes) -> Hello:
    """Validate a hello; raise TerminalError saying why not."""
    try:
        return _hello.decode(raw)
    except msgspec.MsgspecError as exc:
        raise TerminalError(f"bad hello: {exc}") from None


def is_hello(raw: str | bytes) -> bool:
    """Does this first message come from a terminal (rather than a screen)?"""
    head = raw[:200] if isinstance(raw, bytes) else raw[:200].encode("utf-8", "replace")
    return b'"hello"' in head


def parse_message(raw: str | bytes, now: datetime) -> TerminalMessage:
    """Validate a terminal message received at `now`; raise TerminalError saying why not."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise TerminalError(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        message: TerminalMessage = _message.decode(raw)
    except msgspec.MsgspecError as exc:
        raise TerminalError(f"invalid: {exc}") from None
    if isinstance(message, Feedback) and not message.text.strip():
        raise TerminalError("invalid: feedback text is blank")
    if isinstance(message, PositionReport):
        why = implausible_time(message.at, now)
        if why is not None:
            raise TerminalError(f"implausible: {why}")
    return message


async def authenticate(
    pool: asyncpg.Pool, hello: Hello, source_address: str | None, now: datetime
) -> str:
    """The unit id of a terminal whose token matches; raise TerminalError otherwise.

    The credential and the lock-out live in the store (`incidents.store.terminal_credentials`).
    """
    async with pool.acquire() as conn:
        login = await authenticate_terminal(
            conn, hello.terminal_id, hello.token, source_address, now
        )
    if login.ok and login.unit_id is not None:
        return login.unit_id
    if login.reason == "locked":
        raise TerminalError(f"too many failed hellos: try again in {login.retry_after_seconds} s")
    if login.reason == "revoked":
        raise TerminalError("this terminal's credential was revoked")
    return _refuse()


def _refuse() -> str:
    # One answer for an unknown terminal and a wrong token: it tells nothing about which ids exist.
    raise TerminalError("unknown terminal or wrong token")


async def last_accepted(redis: aioredis.Redis, names: StreamNames, terminal_id: str) -> int:
    """The highest seq accepted from this terminal (0 if none)."""
    value: Any = await redis.hget(names.terminal_seq, terminal_id)
    return int(value) if value else 0


# KEYS: seq hash, target stream. ARGV: terminal id, seq, payload.
_ACCEPT = """
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local seq = tonumber(ARGV[2])
if seq <= last then return {'duplicate', last} end
if seq ~= last + 1 then return {'gap', last} end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000000, '*', 'data', ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], seq)
return {'accepted', seq}
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one terminal message: accepted, duplicate, or gap (resend after last)."""

    outcome: str
    last: int


class TerminalGate:
    """Accepts terminal messages in order, exactly once, into the right stream."""

    def __init__(self, redis: aioredis.Redis, names: StreamNames) -> None:
        self._redis = redis
        self._names = names
        self._script = redis.register_script(_ACCEPT)

    async def accept(self, terminal_id: str, unit_id: str, message: TerminalMessage) -> Verdict:
        """Append the message where it belongs if it is the next one; say what happened."""
        if isinstance(message, PositionReport):
            target = self._names.positions
            payload = msgspec.json.encode(
                {
                    "unit_id": unit_id,
                    "lon": message.lon,
                    "lat": message.lat,
                    "at": message.at.isoformat(),
                    "speed": message.speed,
                    "heading": message.heading,
                }
            )
        else:
            target = self._names.terminal_inbox
            entry = InboxEntry(terminal_id=terminal_id, unit_id=unit_id, message=message)
            payload = msgspec.json.encode(entry)
        result: Any = await self._script(
            keys=[self._names.terminal_seq, target], args=[terminal_id, message.seq, payload]
        )
        outcome = result[0].decode() if isinstance(result[0], bytes) else str(result[0])
        return Verdict(outcome, int(result[1]))


class CaseCommands(Protocol):
    """The slice of the case service the inbox needs."""

    async def execute(self, case_id: int, command: Command, *, now: datetime) -> Any: ...


Clock = Callable[[], datetime]


def _command(entry: InboxEntry, causation_id: str) -> Command:
    message = entry.message
    actor = f"unit:{entry.unit_id}"
    if isinstance(message, AckTask):
        return Acknowledge(actor=actor, unit_id=entry.unit_id, causation_id=causation_id)
    if isinstance(message, Arrival):
        return Arrive(actor=actor, unit_id=entry.unit_id, causation_id=causation_id)
    return ReportFeedback(
        actor=actor,
        unit_id=entry.unit_id,
        text=message.text,
        completed=message.completed,
        causation_id=causation_id,
    )


@dataclass
class InboxStats:
    """Counters for tests and heartbeats."""

    applied: int = 0
    repeated: int = 0
    refused: int = 0


class TerminalInbox:
    """Applies accepted terminal task messages to their cases, once each, in stream order.

    Run one inbox consumer per deployment: a single reader keeps each terminal's messages
    in the order they were accepted.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: asyncpg.Pool,
        service: CaseCommands,
        *,
        names: StreamNames,
        consumer: str,
        clock: Clock,
        block_ms: int = 1000,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._service = service
        self._names = names
        self._clock = clock
        self._reader = GroupReader(
            redis,
            names.terminal_inbox,
            TERMINALS_GROUP,
            consumer,
            batch_size=100,
            block_ms=block_ms,
        )
        self.stats = InboxStats()

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing."""
        await self._reader.ensure_group()

    async def process_once(self) -> int:
        """Apply one batch (up to 100 messages) in order; return the entries handled."""
        return await self._reader.process(self.handle_batch)

    async def handle_batch(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Apply each message, acknowledging it right after (order matters, so one by one)."""
        for entry_id, fields in entries:
            if fields:
                await self._apply(entry_id, _inbox.decode(fields[DATA_FIELD]))
            await self._redis.xack(self._names.terminal_inbox, TERMINALS_GROUP, entry_id)

    async def _apply(self, entry_id: bytes, entry: InboxEntry) -> None:
        causation = f"terminal:{entry.terminal_id}:{entry.message.seq}"
        case_id = entry.message.case_id
        async with self._pool.acquire() as conn:
            events = await queries.case_events(conn, case_id)
        if any(event.causation_id == causation for event in events):
            self.stats.repeated += 1  # applied before a crash, not yet acknowledged
            return
        try:
            await self._service.execute(case_id, _command(entry, causation), now=self._clock())
        except (CaseNotFound, IllegalMove, StaleCase) as exc:
            self.stats.refused += 1
            await self._redis.xadd(
                self._names.terminal_dead,
                {
                    b"reason": f"{type(exc).__name__}: {exc}".encode(),
                    b"entry_id": entry_id,
                    DATA_FIELD: msgspec.json.encode(entry),
                },
                maxlen=DEAD_LETTER_CAP,
                approximate=True,
            )
            return
        self.stats.applied += 1


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)
