"""Use cases of emergency plans: one transaction each, then its events published.

The dashboard's plan panel and the deadline job call this; a failed publish leaves the events
in the outbox for the worker's drain, exactly as for case commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from incidents.cap import CapMessage, CapSender, warning_area
from incidents.case import Case, case_from_snapshot
from incidents.plan_library import PlanLibrary
from incidents.plans import IllegalPlanMove, PlanActivation, proposed_plans
from incidents.store.case_store import Conn, PendingEvent
from incidents.store.outbox import mark_published
from incidents.store.plan_store import (
    activate_plan,
    change_plan_level,
    close_plan,
    record_overdue_steps,
    record_proposals,
    tick_plan_step,
)
from incidents.store.service import CaseNotFound, EventSink
from incidents.vocabulary import Severity

log = logging.getLogger(__name__)

# The township outline as (lat, lon) pairs, from the county pack (geo.outline.township_ring).
TownshipOutline = Callable[[str | None], Sequence[tuple[float, float]]]


def _no_outline(_: str | None) -> Sequence[tuple[float, float]]:
    return ()


@dataclass(frozen=True, slots=True)
class PlanResult:
    """An activation after a use case, and the CAP message it sent (if any)."""

    activation: PlanActivation
    cap: CapMessage | None


class PlanService:
    """Proposes, activates, ticks, re-levels and closes plans on stored cases."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sink: EventSink | None,
        library: PlanLibrary,
        sender: CapSender,
        township_outline: TownshipOutline = _no_outline,
    ) -> None:
        self._pool = pool
        self._sink = sink
        self._library = library
        self._sender = sender
        self._outline = township_outline

    async def propose(self, case_id: int, *, now: datetime) -> list[str]:
        """Propose the plans the case matches (each once); return their ids, new or not."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                case, _ = await _load_case(conn, case_id)
                plans = proposed_plans(self._library, case)
                pending = await record_proposals(conn, case, plans, now)
            await self._publish(conn, pending)
        return [plan.plan_id for plan in plans]

    async def activate(
        self,
        case_id: int,
        plan_id: str,
        *,
        by: str,
        now: datetime,
        level: Severity | None = None,
    ) -> PlanResult:
        """启动预案 `plan_id` on the case (at its severity unless `level`), with a CAP Alert."""
        if plan_id not in self._library:
            raise IllegalPlanMove(f"there is no plan {plan_id!r} in the library")
        plan = self._library[plan_id]
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                case, township_name = await _load_case(conn, case_id, for_update=True)
                area = warning_area(
                    plan,
                    case,
                    township_name=township_name,
                    township_ring=self._outline(case.jurisdiction.township_code),
                )
                activation, message, pending = await activate_plan(
                    conn, plan, case, by=by, now=now, area=area, sender=self._sender, level=level
                )
            await self._publish(conn, pending)
        return PlanResult(activation, message)

    async def tick(
        self, activation_id: int, step_no: int, *, by: str, now: datetime
    ) -> PlanActivation:
        """Mark a step done."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                activation, pending = await tick_plan_step(
                    conn, activation_id, step_no, by=by, now=now
                )
            await self._publish(conn, pending)
        return activation

    async def change_level(
        self, activation_id: int, to_level: Severity, *, by: str, now: datetime, reason: str
    ) -> PlanResult:
        """Raise or lower the response level, with a CAP Update."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                activation, message, pending = await change_plan_level(
                    conn,
                    activation_id,
                    to_level,
                    by=by,
                    now=now,
                    reason=reason,
                    sender=self._sender,
                )
            await self._publish(conn, pending)
        return PlanResult(activation, message)

    async def close(
        self, activation_id: int, *, by: str, now: datetime, summary: str
    ) -> PlanResult:
        """Close the plan with a summary, with a CAP Cancel."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                activation, message, pending = await close_plan(
                    conn, activation_id, by=by, now=now, summary=summary, sender=self._sender
                )
            await self._publish(conn, pending)
        return PlanResult(activation, message)

    async def record_overdue(self, now: datetime, limit: int = 500) -> int:
        """Announce newly overdue steps (the deadline job's tick); return how many."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                pending = await record_overdue_steps(conn, now, limit)
            await self._publish(conn, pending)
        return len(pending)

    async def _publish(self, conn: Conn, pending: Sequence[PendingEvent]) -> None:
        """Publish after commit; on failure the outbox keeps them for the worker's drain."""
        if self._sink is None or not pending:
            return
        try:
            await self._sink.publish(pending)
        except Exception as exc:
            log.warning("plan events stay in the outbox (%r)", exc)
            return
        await mark_published(conn, [event.event_id for event in pending])


async def _load_case(
    conn: Conn, case_id: int, *, for_update: bool = False
) -> tuple[Case, str | None]:
    """The stored case and its township's name."""
    # Locking the case row orders an activation after any command already deciding on it.
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT snapshot, township_name FROM cases WHERE id = $1{lock}", case_id
    )
    if row is None or row["snapshot"] is None:
        raise CaseNotFound(case_id)
    return case_from_snapshot(row["snapshot"]), row["township_name"]
