"""Units in PostgreSQL: the fleet, current statuses, status history, rosters and patrols.

Every function runs inside the caller's transaction. Each change is a row of an append-only
table keyed by an event id from the case events' sequence, plus one outbox row holding its
public event, so the existing publisher sends it once and a crash before publishing loses
nothing. Events carry unit ids, statuses and places, never a person's name or phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Literal

import msgspec

from geo.recommend import Capability
from incidents.case import ACTIVE_ASSIGNMENT
from incidents.patrols import CheckIn, CheckInPoint, PatrolAlarm, PatrolRoute
from incidents.store.case_store import (
    ConcurrentChange,
    Conn,
    PendingEvent,
    reserve_ids,
    with_event_id,
)
from incidents.units import (
    PATROL_TYPES,
    Roster,
    Shift,
    StatusChange,
    Unit,
    UnitRecord,
    UnitState,
    UnitStatus,
    UnitType,
    apply_roster,
)
from incidents.vocabulary import Moment

EVENT_SCHEMA = "event/1"
_EVENT_ID_SEQUENCE = "case_event_id_seq"
_INSERT_OUTBOX = (
    "INSERT INTO event_outbox (first_event_id, event_ids, payloads) VALUES ($1, $2, $3)"
)


class UnitNotFound(LookupError):
    """No unit with that id."""

    def __init__(self, unit_id: str) -> None:
        super().__init__(f"unit {unit_id} does not exist")
        self.unit_id = unit_id


class UnitStatusChanged(msgspec.Struct, frozen=True, tag="unit.status_changed", tag_field="type"):
    """Events-stream document of a status change (`township_code` routes it to screens)."""

    at: Moment
    actor: str
    unit_id: str
    township_code: str | None
    before: str
    after: str
    cause: str
    version: int
    case_id: int | None
    reason: str | None
    overridden: bool
    recommendation_rank: int | None
    schema: Literal["event/1"] = "event/1"


class UnitCheckedIn(msgspec.Struct, frozen=True, tag="unit.checked_in", tag_field="type"):
    """Events-stream document of a patrol check-in."""

    at: Moment
    actor: str
    unit_id: str
    township_code: str
    route_id: str
    point_id: str
    distance_m: float
    schema: Literal["event/1"] = "event/1"


class PatrolAlarmRaised(msgspec.Struct, frozen=True, tag="patrol.alarm", tag_field="type"):
    """Events-stream document of a patrol alarm."""

    at: Moment
    actor: str
    unit_id: str
    township_code: str
    route_id: str
    kind: str
    since: Moment
    lon: float
    lat: float
    schema: Literal["event/1"] = "event/1"


_ENCODER = msgspec.json.Encoder()
UnitEvent = UnitStatusChanged | UnitCheckedIn | PatrolAlarmRaised
_EVENT_DECODER = msgspec.json.Decoder(UnitEvent)


def decode_unit_event(payload: bytes | str) -> UnitEvent:
    """Read a unit event's document back (its `event_id` member ignored)."""
    event: UnitEvent = _EVENT_DECODER.decode(payload)
    return event


async def _outbox(
    conn: Conn, documents: Sequence[UnitEvent], ids: Sequence[int]
) -> list[PendingEvent]:
    """One outbox row for these events; the events to publish after commit, in order."""
    if not documents:
        return []
    payloads = [_ENCODER.encode(d).decode() for d in documents]
    await conn.execute(_INSERT_OUTBOX, ids[0], list(ids), payloads)
    return [PendingEvent(i, with_event_id(i, p)) for i, p in zip(ids, payloads, strict=True)]


def township_of(code: str) -> str | None:
    """The township a jurisdiction code lies in (None for the county itself)."""
    digits = code.split("-", 1)[0]
    if len(digits) < 12 or digits[6:9] == "000":
        return None
    return digits[:9] + "000"


_INSERT_UNITS = """
INSERT INTO units (unit_id, call_sign, type, home_code, township_code, capabilities, crew_size,
                   name, created_at)
SELECT i, s, t, h, tw, caps::text[], crew, n, at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::int4[], $8::text[], $9::timestamptz[]) AS x(i, s, t, h, tw, caps, crew, n, at)
ON CONFLICT (unit_id) DO NOTHING
RETURNING unit_id
"""
_INSERT_STATES = """
INSERT INTO unit_states (unit_id, status, since, version, available_at, off_duty_at)
SELECT u, s, $3::timestamptz, 1, CASE WHEN s = 'available' THEN $3::timestamptz END,
       CASE WHEN s = 'off_duty' THEN $3::timestamptz END
FROM unnest($1::text[], $2::text[]) AS t(u, s)
"""


async def insert_units(
    conn: Conn, units: Sequence[tuple[Unit, UnitStatus]], at: datetime
) -> list[str]:
    """Add units (each with its first status) that are not there yet; return the new ids."""
    if not units:
        return []
    columns = list(
        zip(
            *[
                (
                    u.unit_id,
                    u.call_sign,
                    u.type.value,
                    u.home_code,
                    township_of(u.home_code),
                    # Array literals: unnest cannot take an array of arrays of varying length.
                    "{" + ",".join(sorted(c.value for c in u.capabilities)) + "}",
                    u.crew_size,
                    u.name,
                    at,
                )
                for u, _ in units
            ],
            strict=True,
        )
    )
    rows = await conn.fetch(_INSERT_UNITS, *[list(c) for c in columns])
    new = {row["unit_id"] for row in rows}
    first = [(u.unit_id, s.value) for u, s in units if u.unit_id in new]
    if first:
        await conn.execute(_INSERT_STATES, [u for u, _ in first], [s for _, s in first], at)
    return [u.unit_id for u, _ in units if u.unit_id in new]


_STATE_COLUMNS = [name for name in UnitState.__struct_fields__]
_LOAD_STATE = f"SELECT {', '.join(_STATE_COLUMNS)} FROM unit_states WHERE unit_id = $1"


async def load_state(conn: Conn, unit_id: str, *, lock: bool = False) -> UnitState:
    """A unit's current state; `lock` holds its row until the transaction ends."""
    row = await conn.fetchrow(_LOAD_STATE + (" FOR UPDATE" if lock else ""), unit_id)
    if row is None:
        raise UnitNotFound(unit_id)
    return UnitState(**{**dict(row), "status": UnitStatus(row["status"])})


class UnitHome(msgspec.Struct, frozen=True):
    """A unit's name and township (None: a county-level unit)."""

    name: str
    township_code: str | None


_LOAD_STATE_AT_HOME = (
    f"SELECT {', '.join(f's.{c}' for c in _STATE_COLUMNS)}, u.name, u.township_code"
    " FROM unit_states s JOIN units u USING (unit_id) WHERE s.unit_id = $1"
)


async def load_state_at_home(
    conn: Conn, unit_id: str, *, lock: bool = False
) -> tuple[UnitState, UnitHome]:
    """A unit's current state with its name and township, in one read (`lock`: its row)."""
    row = await conn.fetchrow(_LOAD_STATE_AT_HOME + (" FOR UPDATE OF s" if lock else ""), unit_id)
    if row is None:
        raise UnitNotFound(unit_id)
    values = {c: row[c] for c in _STATE_COLUMNS}
    state = UnitState(**{**values, "status": UnitStatus(row["status"])})
    return state, UnitHome(row["name"], row["township_code"])


async def unit_home(conn: Conn, unit_id: str) -> UnitHome:
    """The name and township of a unit."""
    row = await conn.fetchrow("SELECT name, township_code FROM units WHERE unit_id = $1", unit_id)
    if row is None:
        raise UnitNotFound(unit_id)
    return UnitHome(row["name"], row["township_code"])


_N_STATE = len(_STATE_COLUMNS)
_COLUMN = {c: n for n, c in enumerate(_STATE_COLUMNS, 1)}  # parameter number of each column
# One statement, one round trip: the new state only if still at the version the change was
# decided on, and its history row and outbox row only if that update happened.
_WRITE_CHANGE = f"""
WITH upd AS (
    UPDATE unit_states SET {", ".join(f"{c} = ${n}" for c, n in list(_COLUMN.items())[1:])}
    WHERE unit_id = $1 AND version = ${_N_STATE + 1}
    RETURNING unit_id
), ev AS (
    SELECT nextval('{_EVENT_ID_SEQUENCE}') AS event_id FROM upd
), hist AS (
    INSERT INTO unit_status_history (event_id, unit_id, version, before, after, at, actor,
                                     cause, case_id, reason, overridden, recommendation_rank)
    SELECT event_id, $1, ${_COLUMN["version"]}, ${_N_STATE + 2}, ${_COLUMN["status"]},
           ${_COLUMN["since"]}, ${_N_STATE + 3}, ${_N_STATE + 4}, ${_N_STATE + 5}::bigint,
           ${_N_STATE + 6}, ${_N_STATE + 7}, ${_N_STATE + 8}::int4
    FROM ev
    RETURNING event_id
), outbox AS (
    INSERT INTO event_outbox (first_event_id, event_ids, payloads)
    SELECT event_id, ARRAY[event_id], ARRAY[${_N_STATE + 9}::text] FROM hist
)
SELECT event_id FROM hist
"""


async def write_status_change(
    conn: Conn, after: UnitState, change: StatusChange, township_code: str | None
) -> list[PendingEvent]:
    """Store the new state (only if still at the version before), its history and its event."""
    values = [getattr(after, c) for c in _STATE_COLUMNS]
    values[_COLUMN["status"] - 1] = after.status.value
    document = UnitStatusChanged(
        at=change.at,
        actor=change.actor,
        unit_id=change.unit_id,
        township_code=township_code,
        before=change.before.value,
        after=change.after.value,
        cause=change.cause.value,
        version=change.version,
        case_id=change.case_id,
        reason=change.reason,
        overridden=change.overridden,
        recommendation_rank=change.recommendation_rank,
    )
    payload = _ENCODER.encode(document).decode()
    event_id = await conn.fetchval(
        _WRITE_CHANGE,
        *values,
        change.version - 1,
        change.before.value,
        change.actor,
        change.cause.value,
        change.case_id,
        change.reason,
        change.overridden,
        change.recommendation_rank,
        payload,
    )
    if event_id is None:
        raise ConcurrentChange(f"unit {after.unit_id} changed meanwhile; reload it")
    return [PendingEvent(event_id, with_event_id(event_id, payload))]


class HistoryRow(msgspec.Struct, frozen=True):
    """One stored status change and its event id."""

    event_id: int
    change: StatusChange


async def status_history(conn: Conn, unit_id: str) -> list[HistoryRow]:
    """A unit's status changes, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM unit_status_history WHERE unit_id = $1 ORDER BY version", unit_id
    )
    return [
        HistoryRow(
            r["event_id"],
            msgspec.convert(
                {k: v for k, v in dict(r).items() if k != "event_id"}, StatusChange, strict=False
            ),
        )
        for r in rows
    ]


async def save_rosters(conn: Conn, rosters: Sequence[Roster]) -> None:
    """Replace the rosters of these units."""
    ids = [r.unit_id for r in rosters]
    await conn.execute("DELETE FROM unit_rosters WHERE unit_id = ANY($1::text[])", ids)
    rows = [(r.unit_id, s.name, s.starts, s.ends) for r in rosters for s in r.shifts]
    if rows:
        await conn.executemany(
            "INSERT INTO unit_rosters (unit_id, shift_name, starts, ends) VALUES ($1, $2, $3, $4)",
            rows,
        )


async def load_rosters(conn: Conn) -> dict[str, Roster]:
    """Every unit's roster, by unit id (a unit with no rows has no roster)."""
    rows = await conn.fetch("SELECT * FROM unit_rosters ORDER BY unit_id, starts")
    shifts: dict[str, list[Shift]] = {}
    for r in rows:
        start: time = r["starts"]
        end: time = r["ends"]
        shifts.setdefault(r["unit_id"], []).append(Shift(r["shift_name"], start, end))
    return {unit_id: Roster(unit_id, tuple(s)) for unit_id, s in shifts.items()}


async def apply_rosters(conn: Conn, at: datetime) -> list[PendingEvent]:
    """Take idle units off or on duty as their rosters say at `at`; one event per change."""
    rosters = await load_rosters(conn)
    pending: list[PendingEvent] = []
    for unit_id in sorted(rosters):
        state, home = await load_state_at_home(conn, unit_id, lock=True)
        moved = apply_roster(state, rosters[unit_id], at)
        if moved is not None:
            pending += await write_status_change(conn, *moved, home.township_code)
    return pending


async def save_route(conn: Conn, route: PatrolRoute) -> None:
    """Insert or replace a patrol route and its points (check-ins already made stay valid)."""
    await conn.execute(
        "INSERT INTO patrol_routes (route_id, township_code, name, area) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (route_id) DO UPDATE SET name = EXCLUDED.name, area = EXCLUDED.area",
        route.route_id,
        route.township_code,
        route.name,
        _ENCODER.encode([list(c) for c in route.area]).decode(),
    )
    # Points leave the route without being deleted (check-ins point at them): no order.
    await conn.execute("UPDATE patrol_points SET ord = NULL WHERE route_id = $1", route.route_id)
    await conn.executemany(
        "INSERT INTO patrol_points (route_id, ord, point_id, name, lon, lat)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (route_id, point_id) DO UPDATE"
        " SET ord = EXCLUDED.ord, name = EXCLUDED.name, lon = EXCLUDED.lon, lat = EXCLUDED.lat",
        [(route.route_id, n, p.point_id, p.name, p.lon, p.lat) for n, p in enumerate(route.points)],
    )


async def load_routes(conn: Conn, township_code: str | None = None) -> list[PatrolRoute]:
    """Patrol routes (all, or one township's), points in order."""
    routes = await conn.fetch(
        "SELECT * FROM patrol_routes WHERE $1::text IS NULL OR township_code = $1"
        " ORDER BY route_id",
        township_code,
    )
    points = await conn.fetch(
        "SELECT * FROM patrol_points WHERE route_id = ANY($1::text[]) AND ord IS NOT NULL"
        " ORDER BY route_id, ord",
        [r["route_id"] for r in routes],
    )
    by_route: dict[str, list[CheckInPoint]] = {}
    for p in points:
        by_route.setdefault(p["route_id"], []).append(
            CheckInPoint(p["point_id"], p["name"], p["lon"], p["lat"])
        )
    return [
        PatrolRoute(
            r["route_id"],
            r["township_code"],
            r["name"],
            tuple(by_route.get(r["route_id"], ())),
            tuple((float(x), float(y)) for x, y in msgspec.json.decode(r["area"])),
        )
        for r in routes
    ]


async def record_check_ins(
    conn: Conn, route: PatrolRoute, found: Sequence[CheckIn]
) -> list[PendingEvent]:
    """Store check-ins not stored before (same route, point, unit and time) and their events."""
    if not found:
        return []
    ids = await reserve_ids(conn, _EVENT_ID_SEQUENCE, len(found))
    stored = await conn.fetch(
        "INSERT INTO patrol_check_ins (event_id, route_id, point_id, unit_id, at, distance_m)"
        " SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[],"
        " $5::timestamptz[], $6::float4[]) ON CONFLICT DO NOTHING RETURNING event_id",
        ids,
        [c.route_id for c in found],
        [c.point_id for c in found],
        [c.unit_id for c in found],
        [c.at for c in found],
        [c.distance_m for c in found],
    )
    kept = {r["event_id"] for r in stored}
    pairs = [(i, c) for i, c in zip(ids, found, strict=True) if i in kept]
    documents: list[UnitEvent] = [
        UnitCheckedIn(
            at=c.at,
            actor=f"unit:{c.unit_id}",
            unit_id=c.unit_id,
            township_code=route.township_code,
            route_id=c.route_id,
            point_id=c.point_id,
            distance_m=round(c.distance_m, 1),
        )
        for _, c in pairs
    ]
    return await _outbox(conn, documents, [i for i, _ in pairs])


async def record_patrol_alarms(
    conn: Conn, route: PatrolRoute, alarms: Sequence[PatrolAlarm], actor: str = "system:patrols"
) -> list[PendingEvent]:
    """Store alarms not raised before (same unit, kind and start) and their events."""
    if not alarms:
        return []
    ids = await reserve_ids(conn, _EVENT_ID_SEQUENCE, len(alarms))
    stored = await conn.fetch(
        "INSERT INTO patrol_alarms (event_id, route_id, unit_id, kind, at, since, lon, lat)"
        " SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[],"
        " $5::timestamptz[], $6::timestamptz[], $7::float8[], $8::float8[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        ids,
        [a.route_id for a in alarms],
        [a.unit_id for a in alarms],
        [a.kind.value for a in alarms],
        [a.at for a in alarms],
        [a.since for a in alarms],
        [a.lon for a in alarms],
        [a.lat for a in alarms],
    )
    kept = {r["event_id"] for r in stored}
    pairs = [(i, a) for i, a in zip(ids, alarms, strict=True) if i in kept]
    documents: list[UnitEvent] = [
        PatrolAlarmRaised(
            at=a.at,
            actor=actor,
            unit_id=a.unit_id,
            township_code=route.township_code,
            route_id=a.route_id,
            kind=a.kind.value,
            since=a.since,
            lon=a.lon,
            lat=a.lat,
        )
        for _, a in pairs
    ]
    return await _outbox(conn, documents, [i for i, _ in pairs])


async def patrolling_units(conn: Conn) -> list[tuple[str, str]]:
    """(unit id, township) of every patrol unit that is available, so out on its route."""
    rows = await conn.fetch(
        "SELECT u.unit_id, u.township_code FROM units u JOIN unit_states s USING (unit_id)"
        " WHERE u.type = ANY($1::text[]) AND s.status = 'available'"
        " AND u.township_code IS NOT NULL ORDER BY u.unit_id",
        sorted(t.value for t in PATROL_TYPES),
    )
    return [(r["unit_id"], r["township_code"]) for r in rows]


_UNIT_RECORDS = """
SELECT u.unit_id, u.call_sign, u.type, u.home_code, u.township_code, u.capabilities,
       u.crew_size, u.name, s.status, s.since
FROM units u JOIN unit_states s USING (unit_id)
WHERE $1::text IS NULL OR u.home_code LIKE $1 || '%'
ORDER BY u.unit_id
"""


async def unit_records(conn: Conn, prefix: str | None = None) -> list[UnitRecord]:
    """Units with their status (all, or those whose home code starts with `prefix`).

    Positions live in Redis; the caller merges them (incidents.units.recommendation_inputs).
    """
    rows = await conn.fetch(_UNIT_RECORDS, prefix)
    return [
        UnitRecord(
            Unit(
                r["unit_id"],
                r["call_sign"],
                UnitType(r["type"]),
                r["home_code"],
                frozenset(Capability(c) for c in r["capabilities"]),
                r["crew_size"],
                r["name"],
            ),
            r["township_code"],
            UnitStatus(r["status"]),
            r["since"],
        )
        for r in rows
    ]


_ACTIVE_TASKS = """
SELECT DISTINCT ON (unit_id) unit_id, case_id FROM case_assignments
WHERE status = ANY($1::text[]) AND unit_id = ANY($2::text[])
ORDER BY unit_id, dispatched_at DESC
"""


async def active_tasks(conn: Conn, unit_ids: Sequence[str]) -> dict[str, int]:
    """The case each unit is on now (its newest active assignment), by unit id."""
    active = [status.value for status in ACTIVE_ASSIGNMENT]
    rows = await conn.fetch(_ACTIVE_TASKS, active, list(unit_ids))
    return {row["unit_id"]: row["case_id"] for row in rows}
