"""Use cases on one case: load, apply the pure lifecycle, write, publish — one transaction each.

A command reads the case, decides in the pure lifecycle, and commits in one statement that
writes only if the case is still at the version it decided on. Two officers acting on the
same case at once: exactly one wins; the other gets `StaleCase` ("changed by X at T, reload")
instead of silently overwriting the first one's decision.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from incidents import units
from incidents.case import (
    AssignmentKind,
    Case,
    DispatchTarget,
    Jurisdiction,
    case_from_snapshot,
)
from incidents.commands import Acknowledge, Arrive, Command, Dispatch, ReportFeedback, StandDown
from incidents.deadlines import DEFAULT_DEADLINE_RULES, DeadlineRules
from incidents.events import Event
from incidents.lifecycle import IllegalMove, Move, apply
from incidents.merging import MergeResult, SplitResult, merge_cases, split_report
from incidents.patrols import CheckIn, Fix, PatrolAlarm, PatrolRoute, check_ins, patrol_alarms
from incidents.store import unit_store
from incidents.store.case_store import (
    CaseNumbers,
    ConcurrentChange,
    Conn,
    PendingEvent,
    commit_change,
    insert_cases,
    reserve_ids,
    views_of,
    write_events,
)
from incidents.store.outbox import mark_published
from incidents.store.queries import linked_reports
from incidents.units import StatusChange, UnitState, UnitStatus
from incidents.views import PlaceNames

log = logging.getLogger(__name__)

# Case commands that also move fleet units: dispatch, their reports, their release.
UnitTaskCommand = Dispatch | Acknowledge | Arrive | ReportFeedback | StandDown


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


@dataclass(frozen=True, slots=True)
class UnitDispatchResult:
    """The case and the unit after a dispatch, and the events of each."""

    case: Case
    events: tuple[Event, ...]
    unit: UnitState
    change: StatusChange


@dataclass(frozen=True, slots=True)
class UnitResult:
    """A unit after a status change, and the change."""

    unit: UnitState
    change: StatusChange


@dataclass(frozen=True, slots=True)
class PatrolResult:
    """What a stretch of a patrol's positions produced (new ones only are stored)."""

    check_ins: tuple[CheckIn, ...]
    alarms: tuple[PatrolAlarm, ...]
    published: int


_LOAD = """
SELECT id, version, snapshot, township_name, village_name
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
        cache_size: int = 10_000,
    ) -> None:
        self._pool = pool
        self._sink = sink
        self._rules = rules
        # Tests use this to stop right after commit, to prove the outbox loses nothing.
        self._after_commit = after_commit
        # Cases this process wrote last, so the next command on them skips a read. Never
        # trusted: the write checks the version, and a miss re-reads from the database.
        self._cache: OrderedDict[int, tuple[Case, PlaceNames]] = OrderedDict()
        self._cache_size = cache_size

    async def execute(
        self,
        case_id: int,
        command: Command,
        *,
        now: datetime,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Apply `command` to the case; `expected_version` is what the actor saw (None: latest).

        A dispatch, a unit's report on its task or its release also moves the status of each
        fleet unit concerned, in the same transaction (units.UnitNotAvailable: a unit that is
        not available dispatched without a reason). Raises CaseNotFound, StaleCase, or
        lifecycle.IllegalMove; on any error nothing changes.
        """
        async with self._pool.acquire() as conn:
            fresh = False
            for _ in range(_ATTEMPTS):
                case, names = await self._current(conn, case_id, fresh=fresh)
                if expected_version is not None and case.version != expected_version:
                    if not fresh:
                        fresh = True  # our copy may be behind: ask the database
                        continue
                    raise await self._stale(conn, case, expected_version)
                new_case, events = apply(case, command, now, rules=self._rules)
                unit_command = _unit_command(command)
                if unit_command is not None:
                    committed = await self._commit_with_units(
                        conn, case, new_case, names, events, now, unit_command
                    )
                    pending = None if committed is None else committed[0]
                else:
                    pending = await commit_change(conn, case, new_case, names, events, now)
                if pending is not None:
                    break
                # Someone else wrote first: re-read; a person's stale view ends above.
                self._cache.pop(case_id, None)
                fresh = True
            else:
                raise ConcurrentChange(f"case #{case_id} kept changing; gave up")
            self._remember(new_case, names)
            if self._after_commit is not None:
                self._after_commit()
            await self._publish(conn, pending)
        return CommandResult(new_case, tuple(events))

    async def dispatch_unit(
        self,
        case_id: int,
        unit_id: str,
        *,
        actor: str,
        now: datetime,
        recommendation_rank: int | None = None,
        override_reason: str | None = None,
        expected_version: int | None = None,
        causation_id: str | None = None,
    ) -> UnitDispatchResult:
        """指挥派遣 of one fleet unit: the case's dispatch and the unit's status, one transaction.

        `recommendation_rank` is the place (1 = best) of the unit in the recommendation the
        dispatcher followed; `override_reason` is required for a unit that is not available
        (and recorded on both events). Raises units.UnitNotAvailable, UnitNotFound,
        CaseNotFound, StaleCase, lifecycle.IllegalMove or ConcurrentChange; on any error
        neither the case nor the unit changes.
        """
        async with self._pool.acquire() as conn:
            home = await unit_store.unit_home(conn, unit_id)
            case, names = await self._load(conn, case_id, expected_version)
            command = Dispatch(
                actor=actor,
                targets=(DispatchTarget(unit_id, name=home.name),),
                reason=override_reason,
                causation_id=causation_id,
            )
            new_case, events = apply(case, command, now, rules=self._rules)
            committed = await self._commit_with_units(
                conn,
                case,
                new_case,
                names,
                events,
                now,
                command,
                rank=recommendation_rank,
                fleet_only=True,
            )
            if committed is None:
                self._cache.pop(case_id, None)
                raise ConcurrentChange(f"case #{case_id} changed meanwhile; reload it")
            pending, moves = committed
            self._remember(new_case, names)
            if self._after_commit is not None:
                self._after_commit()
            await self._publish(conn, pending)
        unit, change = moves[0]
        return UnitDispatchResult(new_case, tuple(events), unit, change)

    async def report_unit_status(
        self, unit_id: str, status: UnitStatus, *, now: datetime, actor: str | None = None
    ) -> UnitResult:
        """The unit's own report of its status (e.g. available again after returning)."""
        return await self._change_unit(
            unit_id,
            lambda state: units.report(state, status, now, actor or f"unit:{unit_id}"),
        )

    async def decide_unit_status(
        self, unit_id: str, status: UnitStatus, *, actor: str, reason: str | None, now: datetime
    ) -> UnitResult:
        """A commander's recorded decision on a unit's status (reason required)."""
        return await self._change_unit(
            unit_id, lambda state: units.decide(state, status, now, actor, reason)
        )

    async def apply_rosters(self, now: datetime) -> int:
        """Take idle units off or on duty as their rosters say; return the changes made."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                pending = await unit_store.apply_rosters(conn, now)
            await self._publish(conn, pending)
        return len(pending)

    async def record_patrol(
        self,
        route: PatrolRoute,
        unit_id: str,
        fixes: Sequence[Fix],
        *,
        after: datetime | None = None,
    ) -> PatrolResult:
        """Check-ins and alarms of a unit on patrol from its positions (time order), stored once.

        With `after`, the positions are a window that overlaps the last one read: only what
        happened after it counts, so a visit or a stop seen twice is recorded once.
        """
        found = [c for c in check_ins(route, unit_id, fixes) if after is None or c.at > after]
        alarms = [a for a in patrol_alarms(route, unit_id, fixes) if after is None or a.at > after]
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                pending = await unit_store.record_check_ins(conn, route, found)
                pending += await unit_store.record_patrol_alarms(conn, route, alarms)
            await self._publish(conn, pending)
        return PatrolResult(tuple(found), tuple(alarms), len(pending))

    async def _change_unit(
        self,
        unit_id: str,
        rule: Callable[[UnitState], tuple[UnitState, StatusChange]],
    ) -> UnitResult:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                state, home = await unit_store.load_state_at_home(conn, unit_id, lock=True)
                new_state, change = rule(state)
                pending = await unit_store.write_status_change(
                    conn, new_state, change, home.township_code
                )
            await self._publish(conn, pending)
        return UnitResult(new_state, change)

    async def _commit_with_units(
        self,
        conn: Conn,
        before: Case,
        after: Case,
        names: PlaceNames,
        events: Sequence[Event],
        now: datetime,
        command: UnitTaskCommand,
        *,
        rank: int | None = None,
        fleet_only: bool = False,
    ) -> tuple[list[PendingEvent], list[tuple[UnitState, StatusChange]]] | None:
        """The case's change and its fleet units' status changes in one transaction.

        A target the fleet does not know (a department, an outside team) moves only the case,
        unless `fleet_only` (then UnitNotFound, nothing written). The unit rules run before
        anything is written, so a refused unit leaves the case as it was. None (nothing
        written) if the case moved past `before`.
        """
        async with conn.transaction():
            # Units are locked before the case row, in id order, on every path: no deadlock.
            moves: list[tuple[UnitState, StatusChange, str | None]] = []
            for unit_id in sorted(_units_of(command)):
                try:
                    state, home = await unit_store.load_state_at_home(conn, unit_id, lock=True)
                except unit_store.UnitNotFound:
                    if fleet_only:
                        raise
                    continue
                move = _unit_move(state, command, before.case_id, now, rank)
                if move is not None:
                    moves.append((*move, home.township_code))
            pending = await commit_change(conn, before, after, names, events, now)
            if pending is None:
                return None
            for state, change, township in moves:
                pending += await unit_store.write_status_change(conn, state, change, township)
        return pending, [(state, change) for state, change, _ in moves]

    async def merge(
        self,
        duplicate_id: int,
        target_id: int,
        *,
        actor: str,
        now: datetime,
        reason: str | None = None,
        expected_versions: tuple[int | None, int | None] = (None, None),
    ) -> MergeResult:
        """合并 by hand: the duplicate closes as merged, its reports move to the target."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                duplicate, dup_names = await self._load(conn, duplicate_id, expected_versions[0])
                target, target_names = await self._load(conn, target_id, expected_versions[1])
                result = merge_cases(
                    duplicate,
                    target,
                    duplicate_linked=await linked_reports(conn, duplicate_id, duplicate.category),
                    actor=actor,
                    now=now,
                    reason=reason,
                )
                first = await commit_change(
                    conn, duplicate, result.duplicate, dup_names, result.duplicate_events, now
                )
                second = await commit_change(
                    conn, target, result.target, target_names, result.target_events, now
                )
                if first is None or second is None:
                    raise ConcurrentChange(f"case #{duplicate_id} or #{target_id} changed; retry")
                await conn.execute(
                    "UPDATE case_reports SET case_id = $1, link_kind = 'merged', linked_at = $3"
                    " WHERE case_id = $2",
                    target_id,
                    duplicate_id,
                    now,
                )
            self._cache.pop(duplicate_id, None)
            self._cache.pop(target_id, None)
            await self._publish(conn, [*first, *second])
        return result

    async def split(
        self,
        case_id: int,
        source_id: str,
        *,
        jurisdiction: Jurisdiction,
        names: PlaceNames,
        actor: str,
        reason: str,
        now: datetime,
        expected_version: int | None = None,
    ) -> SplitResult:
        """拆分 by hand: a linked report that is a different incident opens its own case."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                case, case_names = await self._load(conn, case_id, expected_version)
                found = await linked_reports(conn, case_id, case.category, source_id)
                if not found:
                    raise IllegalMove(
                        case, Move.UNLINK_REPORT, f"report {source_id} is not linked to this case"
                    )
                [new_id] = await reserve_ids(conn, "case_id_seq", 1)
                numbers = await CaseNumbers.reserve(conn, [(jurisdiction, now)])
                result = split_report(
                    case,
                    found[0],
                    new_case_id=new_id,
                    new_case_no=numbers.next(jurisdiction, now),
                    jurisdiction=jurisdiction,
                    actor=actor,
                    reason=reason,
                    now=now,
                    rules=self._rules,
                )
                new_case, new_events = result.new_case, list(result.new_case_events)
                first = await commit_change(
                    conn, case, result.case, case_names, result.case_events, now
                )
                if first is None:
                    raise ConcurrentChange(f"case #{case_id} changed; retry")
                await insert_cases(conn, [(new_case, names)], now)
                second = await write_events(conn, new_events, views_of([(new_case, names)]))
                await conn.execute(
                    "UPDATE case_reports SET case_id = $1, link_kind = 'opened', linked_at = NULL"
                    " WHERE source_id = $2",
                    new_id,
                    source_id,
                )
            self._cache.pop(case_id, None)
            await self._publish(conn, [*first, *second])
        return result

    async def unit(self, unit_id: str) -> UnitState:
        """The current state of a unit."""
        async with self._pool.acquire() as conn:
            return await unit_store.load_state(conn, unit_id)

    async def load(self, case_id: int) -> Case:
        """The current state of a case."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT snapshot FROM cases WHERE id = $1", case_id)
        if row is None or row["snapshot"] is None:
            raise CaseNotFound(case_id)
        return case_from_snapshot(row["snapshot"])

    async def _current(self, conn: Conn, case_id: int, *, fresh: bool) -> tuple[Case, PlaceNames]:
        """The case as this process last wrote it, or as stored when `fresh` or unknown."""
        if not fresh and case_id in self._cache:
            self._cache.move_to_end(case_id)
            return self._cache[case_id]
        loaded = await self._load(conn, case_id, None)
        self._remember(*loaded)
        return loaded

    def _remember(self, case: Case, names: PlaceNames) -> None:
        self._cache[case.case_id] = (case, names)
        self._cache.move_to_end(case.case_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _stale(self, conn: Conn, case: Case, expected_version: int) -> StaleCase:
        """The error for an actor who saw `expected_version`, naming who changed it since."""
        last = await conn.fetchrow(_LAST_CHANGE, case.case_id)
        if last is None:
            raise AssertionError(f"case #{case.case_id} has a state but no event log")
        return StaleCase(case.case_no, expected_version, case.version, last["actor"], last["at"])

    async def _load(
        self, conn: Conn, case_id: int, expected_version: int | None
    ) -> tuple[Case, PlaceNames]:
        row = await conn.fetchrow(_LOAD, case_id)
        if row is None or row["snapshot"] is None:
            raise CaseNotFound(case_id)
        case = case_from_snapshot(row["snapshot"])
        if expected_version is not None and expected_version != case.version:
            raise await self._stale(conn, case, expected_version)
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


def _unit_command(command: Command) -> UnitTaskCommand | None:
    """The command, if it also moves a unit's own status."""
    if isinstance(command, ReportFeedback):
        return command if command.completed else None
    if isinstance(command, Dispatch | Acknowledge | Arrive | StandDown):
        return command
    return None


def _units_of(command: UnitTaskCommand) -> list[str]:
    """The units a command concerns (a dispatch's units, not its departments)."""
    if isinstance(command, Dispatch):
        return [t.unit_id for t in command.targets if t.kind is AssignmentKind.UNIT]
    return [command.unit_id]


def _unit_move(
    state: UnitState, command: UnitTaskCommand, case_id: int, now: datetime, rank: int | None
) -> tuple[UnitState, StatusChange] | None:
    """The unit's status change a case command implies (a report: if the case is its task).

    A dispatch's reason is its override reason: without one, a unit that is not available
    is refused (units.UnitNotAvailable) and the whole command with it.
    """
    if isinstance(command, Dispatch):
        return units.dispatch(
            state,
            case_id,
            now,
            command.actor,
            recommendation_rank=rank,
            override_reason=command.reason,
        )
    if isinstance(command, StandDown):
        return units.stand_down(state, case_id, now, command.actor, command.reason)
    what = (
        units.TaskReport.ACKNOWLEDGED
        if isinstance(command, Acknowledge)
        else units.TaskReport.ARRIVED
        if isinstance(command, Arrive)
        else units.TaskReport.COMPLETED
    )
    return units.on_task_report(state, what, case_id, now, command.actor)
