"""PostgreSQL persistence for camera defence: the registry and the status history."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from geo.cameras import Camera, CameraPlacement
from geo.pack import CountyPack
from incidents.camera_defence import (
    CameraOverview,
    CameraStatusSince,
    overview,
    statuses_by_camera,
)
from incidents.store.case_store import Conn

_FIELDS = (
    "code",
    "name",
    "placement",
    "lon",
    "lat",
    "heading_deg",
    "fov_deg",
    "range_m",
    "township_code",
    "synthetic",
)
_COLUMNS = ", ".join(_FIELDS)
_MUTABLE = _FIELDS[1:]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One camera.status_changed event as stored (`event_id`: its events-stream entry id)."""

    event_id: str
    camera_id: str
    at: datetime
    status: str
    previous: str | None
    cause: str
    actor: str


async def upsert_cameras(conn: Conn, cameras: Iterable[Camera]) -> int:
    """Register cameras, or refresh the ones whose data changed; return rows written."""
    rows = [
        (
            c.code,
            c.name,
            c.placement.value,
            c.lon,
            c.lat,
            c.heading_deg % 360.0,
            c.fov_deg,
            c.range_m,
            c.township_code,
            c.synthetic,
        )
        for c in cameras
    ]
    if not rows:
        return 0
    columns = list(zip(*rows, strict=True))
    # The WHERE makes a reload of an unchanged registry write nothing (and count nothing).
    result = await conn.execute(
        f"INSERT INTO cameras ({_COLUMNS})"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[],"
        " $6::real[], $7::real[], $8::real[], $9::text[], $10::bool[])"
        f" ON CONFLICT (code) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _MUTABLE)}"
        f" WHERE ({', '.join(f'cameras.{c}' for c in _MUTABLE)})"
        f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in _MUTABLE)})",
        *[list(column) for column in columns],
    )
    return int(result.rsplit(" ", 1)[-1])


async def load_demo_cameras(conn: Conn, pack: CountyPack) -> int:
    """Register the pack's generated camera network; a second load writes nothing."""
    return await upsert_cameras(conn, pack.cameras)


async def registered_cameras(conn: Conn, township_code: str | None = None) -> list[Camera]:
    """The registry (one township's cameras if given), by camera code."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cameras"
        " WHERE $1::text IS NULL OR township_code = $1 ORDER BY code",
        township_code,
    )
    return [
        Camera(
            r["code"],
            r["name"],
            CameraPlacement(r["placement"]),
            r["lon"],
            r["lat"],
            r["heading_deg"],
            r["fov_deg"],
            r["range_m"],
            r["township_code"],
            r["synthetic"],
        )
        for r in rows
    ]


async def record_status_changes(conn: Conn, changes: Sequence[StatusChange]) -> int:
    """Append status changes; one already stored (same event id) is skipped."""
    if not changes:
        return 0
    result = await conn.execute(
        "INSERT INTO camera_status_history (event_id, camera_id, at, status, previous, cause,"
        " actor) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[],"
        " $5::text[], $6::text[], $7::text[]) ON CONFLICT DO NOTHING",
        [c.event_id for c in changes],
        [c.camera_id for c in changes],
        [c.at for c in changes],
        [c.status for c in changes],
        [c.previous for c in changes],
        [c.cause for c in changes],
        [c.actor for c in changes],
    )
    return int(result.rsplit(" ", 1)[-1])


async def status_history(
    conn: Conn, camera_id: str, since: datetime, until: datetime
) -> list[StatusChange]:
    """A camera's status changes in a time window, oldest first."""
    rows = await conn.fetch(
        "SELECT event_id, camera_id, at, status, previous, cause, actor"
        " FROM camera_status_history WHERE camera_id = $1 AND at >= $2 AND at < $3"
        " ORDER BY at, event_id",
        camera_id,
        since,
        until,
    )
    return [StatusChange(*row) for row in rows]


async def statuses_of(conn: Conn, camera_ids: Collection[str]) -> list[CameraStatusSince]:
    """The latest status of just these cameras (one index probe each, not the whole history)."""
    rows = await conn.fetch(
        "SELECT c.id AS camera_id, h.status, h.at FROM unnest($1::text[]) AS c(id)"
        " CROSS JOIN LATERAL (SELECT status, at FROM camera_status_history"
        " WHERE camera_id = c.id ORDER BY at DESC, event_id DESC LIMIT 1) h",
        sorted(camera_ids),
    )
    return [CameraStatusSince(r["camera_id"], r["status"], r["at"]) for r in rows]


async def camera_overview(
    conn: Conn, now: datetime, township_code: str | None = None
) -> CameraOverview:
    """The camera-defence panel from the registry and the history (one township's if given)."""
    cameras = await registered_cameras(conn, township_code)
    rows = await conn.fetch(
        "SELECT DISTINCT ON (h.camera_id) h.camera_id, h.status, h.at"
        " FROM camera_status_history h JOIN cameras c ON c.code = h.camera_id"
        " WHERE $1::text IS NULL OR c.township_code = $1"
        " ORDER BY h.camera_id, h.at DESC, h.event_id DESC",
        township_code,
    )
    statuses = statuses_by_camera(
        [CameraStatusSince(r["camera_id"], r["status"], r["at"]) for r in rows]
    )
    return overview(cameras, statuses, now)


@dataclass(frozen=True, slots=True)
class CameraMarker:
    """A camera as a map marker: where, its name, its latest status and since when (None:
    never heard from)."""

    code: str
    name: str
    lon: float
    lat: float
    status: str | None
    since: datetime | None


async def camera_markers(conn: Conn, prefix: str) -> list[CameraMarker]:
    """Every registered camera whose township code starts with `prefix`, by code."""
    rows = await conn.fetch(
        "SELECT c.code, c.name, c.lon, c.lat, h.status, h.at FROM cameras c LEFT JOIN LATERAL"
        " (SELECT status, at FROM camera_status_history WHERE camera_id = c.code"
        "  ORDER BY at DESC, event_id DESC LIMIT 1) h ON true"
        " WHERE c.township_code LIKE $1 || '%' ORDER BY c.code",
        prefix,
    )
    return [CameraMarker(*row) for row in rows]
