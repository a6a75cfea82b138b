"""PostgreSQL persistence for unit track history (asyncpg)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incidents.case_store import Conn


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
