"""Camera defence (技防) for screens: online rates, cameras that are down, cameras on a case.

Pure functions over the registry (geo.cameras.Camera) and each camera's current status with
the moment it took that status; time is passed in. A camera the centre has never heard from
counts in the totals but not as online. `alarm` counts as online (the camera works and is
raising something); `fault` and `offline` are down. No personal data appears in any view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import msgspec

from geo.cameras import Camera
from geo.coverage import CameraIndex

WORKING_STATUSES = frozenset({"online", "alarm"})
DOWN_STATUSES = frozenset({"offline", "fault"})


class CameraStatusSince(msgspec.Struct, frozen=True, gc=False):
    """A camera's current status and the moment it took it."""

    camera_id: str
    status: str
    since: datetime


class OnlineRate(msgspec.Struct, frozen=True, gc=False):
    """How many cameras of a group (a township, a placement) are online, and the share."""

    key: str
    total: int
    online: int
    down: int
    unknown: int
    rate: float


class DownCamera(msgspec.Struct, frozen=True, gc=False):
    """A camera that is offline or faulty, and for how long (seconds) at the time asked."""

    camera_id: str
    name: str
    placement: str
    township_code: str
    lon: float
    lat: float
    status: str
    since: datetime
    down_seconds: int


class CameraSight(msgspec.Struct, frozen=True, gc=False):
    """A camera whose field of view holds a point (a case's location), with its status."""

    camera_id: str
    name: str
    placement: str
    township_code: str
    distance_m: float
    heading_deg: float
    fov_deg: float
    status: str | None


def online_rates(
    cameras: Iterable[Camera],
    statuses: Mapping[str, CameraStatusSince],
    key: Callable[[Camera], str],
) -> list[OnlineRate]:
    """Online rate per group of cameras (grouped by `key`), groups in key order."""
    counts: dict[str, list[int]] = {}
    for camera in cameras:
        total_online_down_unknown = counts.setdefault(key(camera), [0, 0, 0, 0])
        total_online_down_unknown[0] += 1
        state = statuses.get(camera.code)
        if state is None:
            total_online_down_unknown[3] += 1
        elif state.status in WORKING_STATUSES:
            total_online_down_unknown[1] += 1
        else:
            total_online_down_unknown[2] += 1
    return [
        OnlineRate(k, total, online, down, unknown, online / total if total else 0.0)
        for k, (total, online, down, unknown) in sorted(counts.items())
    ]


def online_rate_by_township(
    cameras: Iterable[Camera], statuses: Mapping[str, CameraStatusSince]
) -> list[OnlineRate]:
    """Online rate per owning township (the 考核 camera online-rate figure)."""
    return online_rates(cameras, statuses, lambda c: c.township_code)


def online_rate_by_placement(
    cameras: Iterable[Camera], statuses: Mapping[str, CameraStatusSince]
) -> list[OnlineRate]:
    """Online rate per placement: point (key point), line (road), area."""
    return online_rates(cameras, statuses, lambda c: c.placement.value)


def down_cameras(
    cameras: Iterable[Camera], statuses: Mapping[str, CameraStatusSince], now: datetime
) -> list[DownCamera]:
    """Cameras offline or faulty at `now`, longest down first (then by camera id)."""
    down = []
    for camera in cameras:
        state = statuses.get(camera.code)
        if state is None or state.status not in DOWN_STATUSES:
            continue
        seconds = max(0, int((now - state.since).total_seconds()))
        down.append(
            DownCamera(
                camera.code,
                camera.name,
                camera.placement.value,
                camera.township_code,
                camera.lon,
                camera.lat,
                state.status,
                state.since,
                seconds,
            )
        )
    down.sort(key=lambda d: (-d.down_seconds, d.camera_id))
    return down


def cameras_seeing(
    index: CameraIndex,
    lon: float,
    lat: float,
    statuses: Mapping[str, CameraStatusSince],
    *,
    working_only: bool = False,
) -> list[CameraSight]:
    """Cameras whose sector holds the point (say, a case's location), nearest first."""
    sights = []
    for hit in index.seeing(lon, lat):
        state = statuses.get(hit.camera.code)
        status = state.status if state is not None else None
        if working_only and status not in WORKING_STATUSES:
            continue
        sights.append(
            CameraSight(
                hit.camera.code,
                hit.camera.name,
                hit.camera.placement.value,
                hit.camera.township_code,
                round(hit.distance_m, 1),
                hit.camera.heading_deg,
                hit.camera.fov_deg,
                status,
            )
        )
    return sights


class CameraOverview(msgspec.Struct, frozen=True, gc=False):
    """The camera-defence panel of a jurisdiction at a moment: rates and what is down."""

    at: datetime
    by_township: list[OnlineRate]
    by_placement: list[OnlineRate]
    down: list[DownCamera]


def overview(
    cameras: Sequence[Camera], statuses: Mapping[str, CameraStatusSince], now: datetime
) -> CameraOverview:
    """Online rates per township and placement, and the cameras down, at `now`."""
    return CameraOverview(
        now,
        online_rate_by_township(cameras, statuses),
        online_rate_by_placement(cameras, statuses),
        down_cameras(cameras, statuses, now),
    )


def statuses_by_camera(rows: Sequence[CameraStatusSince]) -> dict[str, CameraStatusSince]:
    """The rows keyed by camera id (the readers return lists)."""
    return {row.camera_id: row for row in rows}
