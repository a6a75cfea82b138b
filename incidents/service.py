"""Use cases on one case: load, apply the pure lifecycle, write, publish — one transaction each.

A command reads the case, decides in the pure lifecycle, and commits in one statement that
writes only if the case is still at the version it decided on. Two officers acting on the
same case at once: exactly one wins; the other gets `StaleCase` ("changed by X at T, reload")
instead of silently overwriting the first one's decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from incidents.case import Case, case_from_snapshot
from incidents.case_store import ConcurrentChange, Conn, PendingEvent, commit_change
from incidents.commands import Command
from incidents.deadlines import DEFAULT_DEADLINE_RULES, DeadlineRules
from incidents.events import Event
from incidents.lifecycle import apply
from incidents.repository import mark_published
from incidents.views import PlaceNames

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """Where committed events go after commit (the events stream)."""

    async def publish(self, events: Sequence[PendingEvent]) -> None:
        """Publish in order; raise if they could not all be published."""


class CaseNotFound(LookupError):
    """No case with that id."""

    def __init__(self, case_id: int) -> None:
        super().__init__(f"case #{case_id} does not exist")
        self.case_id = case_id


class StaleCase(Exception):
    """The caller acted on an old version: someone else changed the case first."""

    def __init__(
        self, case_no: str, expected: int, actual: int, changed_by: str, changed_at: datetime
    ) -> None:
        super().__init__(
            f"case {case_no} was changed by {changed_by} at {changed_at.isoformat()}"
            f" (version {expected} → {actual}); reload it and try again"
        )
        self.case_no = case_no
        self.expected = expected
        self.actual = actual
        self.changed_by = changed_by
        self.changed_at = changed_at


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The case after a command and the events it produced."""

    case: Case
    events: tuple[Event, ...]


_LOAD = """
SELECT id, version, snapshot::text AS snapshot, township_name, village_name
FROM cases WHERE id = $1
"""
# A system command that loses a race re-reads and re-decides; a person's command does not.
_ATTEMPTS = 5
_LAST_CHANGE = "SELECT actor, at FROM case_events WHERE case_id = $1 ORDER BY seq DESC LIMIT 1"


class CaseService:
    """Runs commands against stored cases; every change is one transaction plus its events."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sink: EventSink | None,
        *,
        rules: DeadlineRules = DEFAULT_DEADLINE_RULES,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._sink = sink
        self._rules = rules
        # Tests use this to stop right after commit, to prove the outbox loses nothing.
        self._after_commit = after_commit

    async def execute(
        self,
        case_id: int,
        command: Command,
        *,
        now: datetime,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Apply `command` to the case; `expected_version` is what the actor saw (None: latest).

        Raises CaseNotFound, StaleCase, or lifecycle.IllegalMove; on any error nothing changes.
        """
        async with self._pool.acquire() as conn:
            for _ in range(_ATTEMPTS):
                case, names = await self._load(conn, case_id, expected_version)
                new_case, events = apply(case, command, now, rules=self._rules)
                pending = await commit_change(conn, case, new_case, names, events, now)
                if pending is not None:
                    break
                if expected_version is not None:
                    # Changed between our read and our write: the actor saw an old version.
                    await self._load(conn, case_id, case.version + 1)
            else:
                raise ConcurrentChange(f"case #{case_id} kept changing; gave up")
            if self._after_commit is not None:
                self._after_commit()
            await self._publish(conn, pending)
        return CommandResult(new_case, tuple(events))

    async def load(self, case_id: int) -> Case:
        """The current state of a case."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT snapshot::text AS snapshot FROM cases WHERE id = $1", case_id
            )
        if row is None or row["snapshot"] is None:
            raise CaseNotFound(case_id)
        return case_from_snapshot(row["snapshot"])

    async def _load(
        self, conn: Conn, case_id: int, expected_version: int | None
    ) -> tuple[Case, PlaceNames]:
        row = await conn.fetchrow(_LOAD, case_id)
        if row is None or row["snapshot"] is None:
            raise CaseNotFound(case_id)
        case = case_from_snapshot(row["snapshot"])
        if expected_version is not None and expected_version != case.version:
            last = await conn.fetchrow(_LAST_CHANGE, case_id)
            if last is None:
                raise AssertionError(f"case #{case_id} has a state but no event log")
            raise StaleCase(case.case_no, expected_version, case.version, last["actor"], last["at"])
        return case, PlaceNames(row["township_name"], row["village_name"])

    async def _publish(self, conn: Conn, pending: Sequence[PendingEvent]) -> None:
        """Publish after commit; on failure the outbox keeps them for the worker's drain."""
        if self._sink is None or not pending:
            return
        try:
            await self._sink.publish(pending)
        except Exception as exc:
            log.warning("events stay in the outbox (%r)", exc)
            return
        await mark_published(conn, [event.event_id for event in pending])
