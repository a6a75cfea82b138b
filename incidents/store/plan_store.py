"""Storing emergency plan activations: steps, level changes, closure, CAP messages and events.

Every function runs inside the caller's transaction and returns the plan events to publish
after commit. Events go to `plan_events` (append-only) and, as one row per call, to the same
`event_outbox` the case events use, with ids from the case events' sequence: the outbox
drain and the published bits then make them go out exactly once, like case events.
An activation is changed only under its row lock (`SELECT … FOR UPDATE`), so two officers
ticking the same plan are serialised and neither overwrites the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec

from incidents.cap import (
    CapArea,
    CapMessage,
    CapSender,
    MsgType,
    activation_alert,
    cancellation,
    level_update,
)
from incidents.case import Case
from incidents.plan_events import (
    PlanEvent,
    PlanProposed,
    plan_event_from_json,
    plan_event_json,
    plan_event_type,
)
from incidents.plan_library import Plan
from incidents.plans import (
    PlanActivation,
    activate,
    change_level,
    close,
    proposal_events,
    record_overdue,
    tick_step,
)
from incidents.store.case_store import Conn, PendingEvent, reserve_ids, with_event_id
from incidents.vocabulary import Severity


class PlanNotFound(LookupError):
    """No plan activation with that id."""

    def __init__(self, activation_id: int) -> None:
        super().__init__(f"plan activation #{activation_id} does not exist")
        self.activation_id = activation_id


class PlanAlreadyActive(Exception):
    """The case already runs this plan; raise its level instead of activating it again."""

    def __init__(self, case_no: str, plan_id: str) -> None:
        super().__init__(f"case {case_no} already runs plan {plan_id}; change its level instead")


@dataclass(frozen=True, slots=True)
class OverdueStep:
    """A checklist step past its deadline, not done and not yet announced."""

    activation_id: int
    step_no: int
    case_id: int
    due_at: datetime


_ENCODER = msgspec.json.Encoder(order="deterministic")
_ACTIVATION = msgspec.json.Decoder(PlanActivation)
_AREA = msgspec.json.Decoder(CapArea)

_INSERT_EVENTS = """
INSERT INTO plan_events (id, case_id, activation_id, type, at, actor, data)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[],
                     $6::text[], $7::jsonb[])
"""
_INSERT_OUTBOX = (
    "INSERT INTO event_outbox (first_event_id, event_ids, payloads) VALUES ($1, $2, $3)"
)


async def write_plan_events(conn: Conn, events: Sequence[PlanEvent]) -> list[PendingEvent]:
    """Append plan events to their log and one outbox row, in order; return them to publish."""
    if not events:
        return []
    ids = await reserve_ids(conn, "case_event_id_seq", len(events))
    payloads = [plan_event_json(event).decode() for event in events]
    await conn.execute(
        _INSERT_EVENTS,
        ids,
        [e.case_id for e in events],
        [None if isinstance(e, PlanProposed) else e.activation_id for e in events],
        [plan_event_type(e) for e in events],
        [e.at for e in events],
        [e.actor for e in events],
        payloads,
    )
    await conn.execute(_INSERT_OUTBOX, ids[0], ids, payloads)
    return [PendingEvent(i, with_event_id(i, p)) for i, p in zip(ids, payloads, strict=True)]


async def record_proposals(
    conn: Conn, case: Case, plans: Sequence[Plan], now: datetime
) -> list[PendingEvent]:
    """`plan.proposed` for each plan not proposed to this case before."""
    if not plans:
        return []
    fresh = {
        row["plan_id"]
        for row in await conn.fetch(
            "INSERT INTO plan_proposals (case_id, plan_id, level, proposed_at)"
            " SELECT $1, unnest($2::text[]), $3, $4"
            " ON CONFLICT (case_id, plan_id) DO NOTHING RETURNING plan_id",
            case.case_id,
            [plan.plan_id for plan in plans],
            int(case.severity),
            now,
        )
    }
    new = tuple(plan for plan in plans if plan.plan_id in fresh)
    return await write_plan_events(conn, proposal_events(case, new, now=now))


async def activate_plan(
    conn: Conn,
    plan: Plan,
    case: Case,
    *,
    by: str,
    now: datetime,
    area: CapArea,
    sender: CapSender,
    level: Severity | None = None,
) -> tuple[PlanActivation, CapMessage, list[PendingEvent]]:
    """启动预案 on a case: the activation, its steps, the CAP Alert and `plan.activated`."""
    [activation_id] = await reserve_ids(conn, "plan_activation_id_seq", 1)
    activation, events = activate(
        plan, case, activation_id=activation_id, by=by, now=now, level=level
    )
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction survives
            await conn.execute(
                "INSERT INTO plan_activations (id, case_id, plan_id, level, status,"
                " activated_by, activated_at, version, cap_area, snapshot)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb)",
                activation.activation_id,
                activation.case_id,
                plan.plan_id,
                int(activation.level),
                activation.status.value,
                by,
                now,
                activation.version,
                _ENCODER.encode(area).decode(),
                _ENCODER.encode(activation).decode(),
            )
    except asyncpg.UniqueViolationError:
        raise PlanAlreadyActive(case.case_no, plan.plan_id) from None
    await _save_steps(conn, activation)
    message = activation_alert(activation, area, sender, sent=now)
    await _save_message(conn, activation.activation_id, 1, message)
    return activation, message, await write_plan_events(conn, events)


async def tick_plan_step(
    conn: Conn, activation_id: int, step_no: int, *, by: str, now: datetime
) -> tuple[PlanActivation, list[PendingEvent]]:
    """Mark a step done (late if after its deadline) and announce `plan.step_done`."""
    before = await load_activation(conn, activation_id, for_update=True)
    after, events = tick_step(before, step_no, by=by, now=now)
    await _save(conn, before, after)
    return after, await write_plan_events(conn, events)


async def change_plan_level(
    conn: Conn,
    activation_id: int,
    to_level: Severity,
    *,
    by: str,
    now: datetime,
    reason: str,
    sender: CapSender,
) -> tuple[PlanActivation, CapMessage, list[PendingEvent]]:
    """Raise or lower the level: recorded, a CAP Update, `plan.level_changed`."""
    before = await load_activation(conn, activation_id, for_update=True)
    after, events = change_level(before, to_level, by=by, now=now, reason=reason)
    await _save(conn, before, after)
    message = await _follow_up(conn, after, sender, MsgType.UPDATE, now)
    return after, message, await write_plan_events(conn, events)


async def close_plan(
    conn: Conn,
    activation_id: int,
    *,
    by: str,
    now: datetime,
    summary: str,
    sender: CapSender,
) -> tuple[PlanActivation, CapMessage, list[PendingEvent]]:
    """Close the plan with a summary: a CAP Cancel and `plan.closed`."""
    before = await load_activation(conn, activation_id, for_update=True)
    after, events = close(before, by=by, now=now, summary=summary)
    await _save(conn, before, after)
    message = await _follow_up(conn, after, sender, MsgType.CANCEL, now)
    return after, message, await write_plan_events(conn, events)


_OVERDUE = """
SELECT s.activation_id, s.step_no, a.case_id, s.due_at
FROM plan_steps AS s JOIN plan_activations AS a ON a.id = s.activation_id
WHERE s.done_at IS NULL AND NOT s.overdue_recorded AND s.due_at <= $1 AND a.status = 'active'
ORDER BY s.due_at, s.activation_id, s.step_no
LIMIT $2
"""


async def find_overdue_steps(conn: Conn, now: datetime, limit: int = 500) -> list[OverdueStep]:
    """Steps of running plans past their deadline and not yet announced, most overdue first."""
    return [OverdueStep(**dict(row)) for row in await conn.fetch(_OVERDUE, now, limit)]


async def record_overdue_steps(conn: Conn, now: datetime, limit: int = 500) -> list[PendingEvent]:
    """Announce each newly overdue step once (`plan.step_overdue`); for the deadline job."""
    # `limit` bounds the steps found; each activation found announces all its overdue steps.
    announced: list[PlanEvent] = []
    activation_ids = sorted({s.activation_id for s in await find_overdue_steps(conn, now, limit)})
    for activation_id in activation_ids:
        before = await load_activation(conn, activation_id, for_update=True)
        after, events = record_overdue(before, now)
        if events:
            await _save(conn, before, after)
            announced += events
    # One log write and one outbox row for the whole tick.
    return await write_plan_events(conn, announced)


async def load_activation(
    conn: Conn, activation_id: int, *, for_update: bool = False
) -> PlanActivation:
    """The stored activation; PlanNotFound if there is none."""
    lock = " FOR UPDATE" if for_update else ""
    snapshot = await conn.fetchval(
        f"SELECT snapshot FROM plan_activations WHERE id = $1{lock}", activation_id
    )
    if snapshot is None:
        raise PlanNotFound(activation_id)
    return _ACTIVATION.decode(snapshot)


async def activations_of_case(conn: Conn, case_id: int) -> list[PlanActivation]:
    """Every plan activated on a case, oldest first."""
    rows = await conn.fetch(
        "SELECT snapshot FROM plan_activations WHERE case_id = $1 ORDER BY id", case_id
    )
    return [_ACTIVATION.decode(row["snapshot"]) for row in rows]


async def plan_events_of_case(conn: Conn, case_id: int) -> list[PlanEvent]:
    """Every plan event of a case in log order (the case timeline's plan side)."""
    rows = await conn.fetch("SELECT data FROM plan_events WHERE case_id = $1 ORDER BY id", case_id)
    return [plan_event_from_json(row["data"]) for row in rows]


async def cap_messages_of(conn: Conn, activation_id: int) -> list[CapMessage]:
    """The CAP messages sent for an activation, in order."""
    rows = await conn.fetch(
        "SELECT identifier, msg_type, sent, xml FROM plan_cap_messages"
        " WHERE activation_id = $1 ORDER BY serial",
        activation_id,
    )
    return [CapMessage(r["identifier"], MsgType(r["msg_type"]), r["sent"], r["xml"]) for r in rows]


async def _follow_up(
    conn: Conn, activation: PlanActivation, sender: CapSender, msg_type: MsgType, now: datetime
) -> CapMessage:
    """The Update or Cancel of an activation, referencing its earlier messages, stored."""
    previous = await cap_messages_of(conn, activation.activation_id)
    area = _AREA.decode(
        await conn.fetchval(
            "SELECT cap_area FROM plan_activations WHERE id = $1", activation.activation_id
        )
    )
    build = level_update if msg_type is MsgType.UPDATE else cancellation
    message = build(activation, area, sender, previous, sent=now)
    await _save_message(conn, activation.activation_id, len(previous) + 1, message)
    return message


async def _save_message(conn: Conn, activation_id: int, serial: int, message: CapMessage) -> None:
    await conn.execute(
        "INSERT INTO plan_cap_messages (identifier, activation_id, serial, msg_type, sent, xml)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        message.identifier,
        activation_id,
        serial,
        message.msg_type.value,
        message.sent,
        message.xml,
    )


async def _save(conn: Conn, before: PlanActivation, after: PlanActivation) -> None:
    """Write `after` over `before` (held under its row lock): row, steps, new level changes."""
    status = await conn.execute(
        "UPDATE plan_activations SET level = $2, status = $3, closed_by = $4, closed_at = $5,"
        " summary = $6, version = $7, snapshot = $8::jsonb WHERE id = $1 AND version = $9",
        after.activation_id,
        int(after.level),
        after.status.value,
        after.closed_by,
        after.closed_at,
        after.summary,
        after.version,
        _ENCODER.encode(after).decode(),
        before.version,
    )
    if status != "UPDATE 1":
        raise RuntimeError(f"plan activation #{after.activation_id} changed under its lock")
    await _save_steps(conn, after, before)
    new_changes = after.level_changes[len(before.level_changes) :]
    if new_changes:
        first = len(before.level_changes) + 1
        await conn.executemany(
            "INSERT INTO plan_level_changes (activation_id, change_no, from_level, to_level,"
            " changed_by, changed_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (
                    after.activation_id,
                    first + n,
                    int(c.from_level),
                    int(c.to_level),
                    c.by,
                    c.at,
                    c.reason,
                )
                for n, c in enumerate(new_changes)
            ],
        )


async def _save_steps(
    conn: Conn, after: PlanActivation, before: PlanActivation | None = None
) -> None:
    """Insert or update the steps that differ from `before` (all of them on activation)."""
    changed = [
        step for n, step in enumerate(after.steps) if before is None or before.steps[n] != step
    ]
    if not changed:
        return
    await conn.executemany(
        "INSERT INTO plan_steps (activation_id, step_no, title, role, due_at, done_at, done_by,"
        " late, overdue_recorded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (activation_id, step_no) DO UPDATE SET done_at = EXCLUDED.done_at,"
        " done_by = EXCLUDED.done_by, late = EXCLUDED.late,"
        " overdue_recorded = EXCLUDED.overdue_recorded",
        [
            (
                after.activation_id,
                s.step_no,
                s.title,
                s.role,
                s.due_at,
                s.done_at,
                s.done_by,
                s.late,
                s.overdue_recorded,
            )
            for s in changed
        ],
    )
