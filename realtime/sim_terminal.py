"""A simulated unit's field terminal: the live protocol's client side over a real websocket.

`TerminalOutbox` is the pure part (numbering, what the server confirmed, what to resend
after a gap or a reconnect); `TerminalLink` is the thin `websockets` adapter around it.
Task events for the unit become `Task`s handed to `on_task`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from realtime.sim_roads import Fix
from realtime.sim_units import Task, TaskOut, TaskStep

log = logging.getLogger(__name__)


def terminal_id_for(unit_id: str) -> str:
    """The simulated terminal of a unit."""
    return f"sim-{unit_id}"[:64]


@dataclass
class TerminalOutbox:
    """Numbered messages not yet confirmed, in order; seq starts after the server's last."""

    last_confirmed: int = 0
    next_seq: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)
    confirmed_steps: list[tuple[str, int]] = field(default_factory=list)
    welcomed: bool = False

    def add(self, message: TaskOut) -> dict[str, Any]:
        """Number a task message; it stays pending until the server confirms it."""
        body: dict[str, Any] = {"type": message.step.value, "seq": self.next_seq}
        body["case_id"] = message.case_id
        if message.step is TaskStep.FEEDBACK:
            body["text"] = message.text
            body["completed"] = message.completed
        self.next_seq += 1
        self.pending.append(body)
        return body

    def add_position(self, fix: Fix, at: datetime) -> dict[str, Any]:
        """Number a position report (sent from the scene, as a terminal does on arrival)."""
        body: dict[str, Any] = {
            "type": "position",
            "seq": self.next_seq,
            "lon": fix.lon,
            "lat": fix.lat,
            "at": at.isoformat(timespec="milliseconds"),
            "speed": fix.speed_kmh,
            "heading": fix.heading,
        }
        self.next_seq += 1
        self.pending.append(body)
        return body

    def welcome(self, last_seq: int) -> list[dict[str, Any]]:
        """After (re)connecting: what the server already has is done; resend the rest.

        On this outbox's first welcome the server's count belongs to an earlier run of the
        same terminal id: nothing pending was sent yet, so it is renumbered after it.
        """
        if not self.welcomed:
            self.welcomed = True
            self.last_confirmed = last_seq
            for n, body in enumerate(self.pending):
                body["seq"] = last_seq + 1 + n
            self.next_seq = last_seq + 1 + len(self.pending)
        self._confirm(last_seq)
        return list(self.pending)

    def answer(self, kind: str, last_seq: int) -> list[dict[str, Any]]:
        """Apply an accepted/duplicate/gap answer; return the messages to resend (after a gap)."""
        self._confirm(last_seq)
        return list(self.pending) if kind == "gap" else []

    def _confirm(self, last_seq: int) -> None:
        self.last_confirmed = max(self.last_confirmed, last_seq)
        while self.pending and self.pending[0]["seq"] <= self.last_confirmed:
            body = self.pending.pop(0)
            self.confirmed_steps.append((str(body["type"]), int(body.get("case_id", 0))))


def tasks_in(message: Mapping[str, Any], unit_id: str) -> list[Task]:
    """The dispatches for `unit_id` in a server message (tasks snapshot, replay, deltas)."""
    kind = message.get("type")
    if kind == "tasks":
        return [
            Task(int(t["case_id"]), float(t["lon"]), float(t["lat"]), str(t["category"]))
            for t in message.get("tasks", ())
            if t.get("status") == "dispatched" and t.get("lon") is not None
        ]
    if kind == "delta":
        deltas = [message]
    elif kind in ("deltas", "replay"):
        deltas = list(message.get("deltas", ()))
    else:
        return []
    found = []
    for delta in deltas:
        event = delta.get("event") or {}
        case = event.get("case") or {}
        if (
            event.get("type") == "case.dispatched"
            and event.get("unit_id") == unit_id
            and case.get("lon") is not None
        ):
            found.append(
                Task(
                    int(event["case_id"]), float(case["lon"]), float(case["lat"]), case["category"]
                )
            )
    return found


@dataclass
class LinkStats:
    """What one terminal did, for the simulator's report."""

    tasks: list[int] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    connects: int = 0


class TerminalLink:
    """One unit's terminal connection: hello, tasks in, numbered messages out, reconnects."""

    def __init__(self, url: str, unit_id: str, token: str, on_task: Callable[[Task], None]) -> None:
        self._url = url
        self._unit_id = unit_id
        self._token = token
        self._on_task = on_task
        self.outbox = TerminalOutbox()
        self.stats = LinkStats()
        self._ws: ClientConnection | None = None
        self._last_id: str | None = None

    async def send(self, message: TaskOut) -> None:
        """Queue a task message and send it now if connected (else on reconnect)."""
        await self._send(self.outbox.add(message))

    async def send_position(self, fix: Fix, at: datetime) -> None:
        """Queue a position report and send it now if connected."""
        await self._send(self.outbox.add_position(fix, at))

    async def _send(self, body: dict[str, Any]) -> None:
        if self._ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await self._ws.send(json.dumps(body, ensure_ascii=False))

    async def run(self, stop: asyncio.Event, start_after: float = 0.0) -> None:
        """Stay connected until stopped, backing off after failures.

        `start_after` staggers a fleet's first connections, as terminals switch on over a
        shift change rather than in one millisecond.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), start_after)
        delay = 0.5
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 0.5
            except (WebSocketException, OSError, TimeoutError, ValueError, KeyError) as exc:
                # Once per outage: a hundred terminals retrying must not flood the log.
                level = logging.WARNING if delay == 0.5 else logging.DEBUG
                log.log(level, "terminal %s: %s; reconnecting in %.1f s", self._unit_id, exc, delay)
            self._ws = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 15.0)

    async def _session(self, stop: asyncio.Event) -> None:
        async with connect(self._url, open_timeout=10) as ws:
            hello = {
                "type": "hello",
                "terminal_id": terminal_id_for(self._unit_id),
                "token": self._token,
                "since": self._last_id,
            }
            await ws.send(json.dumps(hello))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if welcome.get("type") != "welcome":
                raise ValueError(f"refused: {welcome.get('reason', welcome.get('type'))}")
            self.stats.connects += 1
            self._ws = ws
            for body in self.outbox.welcome(int(welcome["last_seq"])):
                await ws.send(json.dumps(body, ensure_ascii=False))
            reader = asyncio.create_task(self._read(ws))
            stopped = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            failure = reader.exception() if reader.done() and not reader.cancelled() else None
            if failure is not None:
                raise failure

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind in ("accepted", "duplicate", "gap"):
                for body in self.outbox.answer(kind, int(message["last_seq"])):
                    await ws.send(json.dumps(body, ensure_ascii=False))
                continue
            if kind == "rejected":
                self.stats.rejected.append(str(message.get("reason")))
                continue
            self._last_id = message.get("last_id") or self._last_delta(message) or self._last_id
            for task in tasks_in(message, self._unit_id):
                self.stats.tasks.append(task.case_id)
                self._on_task(task)

    @staticmethod
    def _last_delta(message: Mapping[str, Any]) -> str | None:
        if message.get("type") == "delta":
            return str(message["id"])
        deltas = message.get("deltas") or ()
        return str(deltas[-1]["id"]) if deltas else None
