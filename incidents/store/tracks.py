"""PostgreSQL persistence for unit track history, and the tasks a unit's terminal shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incidents.store.case_store import Conn
from incidents.views import TaskView


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One sampled fix of a unit."""

    unit_id: str
    at: datetime
    lon: float
    lat: float
    speed: float | None
    heading: float | None


async def record_track_points(conn: Conn, points: Sequence[TrackPoint]) -> int:
    """Append sampled fixes; a fix already stored (same unit and time) is skipped."""
    if not points:
        return 0
    result = await conn.execute(
        "INSERT INTO unit_tracks (unit_id, at, lon, lat, speed, heading)"
        " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[],"
        " $5::real[], $6::real[]) ON CONFLICT DO NOTHING",
        [p.unit_id for p in points],
        [p.at for p in points],
        [p.lon for p in points],
        [p.lat for p in points],
        [p.speed for p in points],
        [p.heading for p in points],
    )
    return int(result.rsplit(" ", 1)[-1])


async def track_of(conn: Conn, unit_id: str, since: datetime, until: datetime) -> list[TrackPoint]:
    """A unit's sampled fixes in a time window, oldest first."""
    rows = await conn.fetch(
        "SELECT unit_id, at, lon, lat, speed, heading FROM unit_tracks"
        " WHERE unit_id = $1 AND at >= $2 AND at < $3 ORDER BY at",
        unit_id,
        since,
        until,
    )
    return [
        TrackPoint(r["unit_id"], r["at"], r["lon"], r["lat"], r["speed"], r["heading"])
        for r in rows
    ]


async def active_tasks(conn: Conn, unit_id: str) -> list[TaskView]:
    """The unit's open assignments, oldest first."""
    rows = await conn.fetch(
        "SELECT a.case_id, a.assignment_no, a.status, a.dispatched_at, c.case_no, c.category,"
        " c.severity, c.summary, c.address, c.lon, c.lat"
        " FROM case_assignments a JOIN cases c ON c.id = a.case_id"
        " WHERE a.unit_id = $1 AND a.status IN ('dispatched', 'acknowledged', 'arrived')"
        " ORDER BY a.dispatched_at, a.case_id",
        unit_id,
    )
    return [TaskView(*row) for row in rows]
