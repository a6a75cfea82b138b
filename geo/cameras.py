"""Cameras (监控点位) with direction and field of view, and the generator of a synthetic network.

The network follows the 点线面 pattern: *point* cameras watch key places and village
centres, *line* cameras sit along roads looking along them, *area* cameras (many of them
360° domes) cover grids. Codes are 20-digit GB/T 28181 device ids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely

from geo.projection import LocalProjection, projection_for

# GB/T 28181 device id: 8-digit centre code, 2-digit industry, 3-digit type, 1 network, 6 serial.
_INDUSTRY_PUBLIC_SECURITY_ROADS = "00"
_TYPE_IPC = "132"
_NETWORK_PUBLIC = "0"
# Shares of the network by placement, roughly what county 雪亮工程 inventories show:
# most cameras are area coverage in villages, a third along roads, the rest at key points.
_SHARES = {"point": 0.2, "line": 0.35, "area": 0.45}


class CameraPlacement(StrEnum):
    """点 (key point), 线 (along a road), 面 (area coverage)."""

    POINT = "point"
    LINE = "line"
    AREA = "area"


@dataclass(frozen=True, slots=True)
class Camera:
    """A camera: position, heading (degrees clockwise from north), field of view and range."""

    code: str
    name: str
    placement: CameraPlacement
    lon: float
    lat: float
    heading_deg: float
    fov_deg: float
    range_m: float
    township_code: str
    synthetic: bool


@dataclass(frozen=True, slots=True)
class CameraSite:
    """Something cameras watch: a key place or a village centre."""

    name: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class CameraContext:
    """What the generator needs from a pack: sites, roads, grids and a township lookup."""

    county_code: str
    sites: Sequence[CameraSite]
    road_lines: Sequence[tuple[str, shapely.LineString]]
    grids: Sequence[tuple[str, str, shapely.geometry.base.BaseGeometry]]
    township_of_grid: dict[str, str]


def bearing_deg(dx_km: float, dy_km: float) -> float:
    """Compass bearing of a displacement (0 = north, 90 = east)."""
    return math.degrees(math.atan2(dx_km, dy_km)) % 360.0


def generate_cameras(context: CameraContext, count: int, seed: int) -> tuple[Camera, ...]:
    """About `count` cameras in the 点线面 pattern, deterministic for a seed."""
    rng = np.random.default_rng([seed, count])
    proj = projection_for(shapely.GeometryCollection([g for _, _, g in context.grids]))
    tree = shapely.STRtree([g for _, _, g in context.grids])
    grid_codes = [c for c, _, _ in context.grids]
    rows: list[tuple[CameraPlacement, float, float, float, float, float, str]] = []
    n_point = round(count * _SHARES["point"])
    n_line = round(count * _SHARES["line"])
    n_area = count - n_point - n_line
    rows += _point_cameras(context.sites, n_point, proj, rng)
    rows += _line_cameras(context.road_lines, n_line, proj, rng)
    rows += _area_cameras(context.grids, n_area, proj, rng)

    lons = np.array([r[1] for r in rows])
    lats = np.array([r[2] for r in rows])
    hits = tree.query(shapely.points(lons, lats), predicate="intersects")
    grid_of = dict(zip(hits[0].tolist(), hits[1].tolist(), strict=False))
    centre = f"{context.county_code}00"
    cameras: list[Camera] = []
    for i, (placement, lon, lat, heading, fov, rng_m, label) in enumerate(rows):
        if i not in grid_of:
            continue  # a jittered camera that fell outside the county is dropped
        town = context.township_of_grid[grid_codes[grid_of[i]]]
        serial = f"{len(cameras) + 1:06d}"
        cameras.append(
            Camera(
                f"{centre}{_INDUSTRY_PUBLIC_SECURITY_ROADS}{_TYPE_IPC}{_NETWORK_PUBLIC}{serial}",
                label,
                placement,
                round(lon, 6),
                round(lat, 6),
                round(heading, 1),
                fov,
                rng_m,
                town,
                synthetic=True,
            )
        )
    return tuple(cameras)


def _to_deg(proj: LocalProjection, x: float, y: float) -> tuple[float, float]:
    lon, lat = proj.to_deg(np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])


def _point_cameras(
    sites: Sequence[CameraSite], n: int, proj: LocalProjection, rng: np.random.Generator
) -> list[tuple[CameraPlacement, float, float, float, float, float, str]]:
    """Cameras 20-80 m around each site looking at it, sites taken round-robin."""
    rows = []
    for k in range(n):
        site = sites[k % len(sites)]
        sx, sy = proj.to_km(np.array([site.lon]), np.array([site.lat]))
        angle = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(0.02, 0.08)
        x, y = float(sx[0]) + dist * math.sin(angle), float(sy[0]) + dist * math.cos(angle)
        heading = bearing_deg(float(sx[0]) - x, float(sy[0]) - y)
        lon, lat = _to_deg(proj, x, y)
        number = k // len(sites) + 1
        rows.append(
            (CameraPlacement.POINT, lon, lat, heading, 90.0, 80.0, f"{site.name}{number}号")
        )
    return rows


def _line_cameras(
    roads: Sequence[tuple[str, shapely.LineString]],
    n: int,
    proj: LocalProjection,
    rng: np.random.Generator,
) -> list[tuple[CameraPlacement, float, float, float, float, float, str]]:
    """Cameras evenly spaced along all roads, alternately looking each way along the road."""
    lines_km = [proj.geometry_to_km(line) for _, line in roads]
    lengths = np.array([line.length for line in lines_km])
    total = float(lengths.sum())
    spacing = total / max(n, 1)
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    positions = (np.arange(n) + rng.uniform(0.2, 0.8)) * spacing
    rows = []
    for k, pos in enumerate(positions.tolist()):
        r = int(np.searchsorted(starts, pos, side="right") - 1)
        along = pos - float(starts[r])
        line = lines_km[r]
        here = line.interpolate(along)
        ahead = line.interpolate(min(along + 0.01, line.length))
        behind = line.interpolate(max(along - 0.01, 0.0))
        heading = bearing_deg(ahead.x - behind.x, ahead.y - behind.y)
        if k % 2:
            heading = (heading + 180.0) % 360.0
        lon, lat = _to_deg(proj, here.x, here.y)
        name = f"{roads[r][0]} K{along:.1f}"
        rows.append((CameraPlacement.LINE, lon, lat, heading, 60.0, 150.0, name))
    return rows


def _area_cameras(
    grids: Sequence[tuple[str, str, shapely.geometry.base.BaseGeometry]],
    n: int,
    proj: LocalProjection,
    rng: np.random.Generator,
) -> list[tuple[CameraPlacement, float, float, float, float, float, str]]:
    """Cameras spread over grids in proportion to their area; a third are 360° domes."""
    areas = np.array([proj.geometry_to_km(g).area for _, _, g in grids])
    counts = np.floor(areas / areas.sum() * n).astype(int)
    # Hand out what rounding left over to the largest remainders, deterministically.
    remainder = areas / areas.sum() * n - counts
    for idx in np.argsort(-remainder, kind="stable")[: n - int(counts.sum())]:
        counts[idx] += 1
    rows = []
    for (_, name, geom), m in zip(grids, counts.tolist(), strict=True):
        if m == 0:
            continue
        minx, miny, maxx, maxy = geom.bounds
        placed = 0
        while placed < m:
            xs = rng.uniform(minx, maxx, 4 * m)
            ys = rng.uniform(miny, maxy, 4 * m)
            inside = shapely.contains_xy(geom, xs, ys)
            for lon, lat in zip(xs[inside], ys[inside], strict=True):
                if placed == m:
                    break
                placed += 1
                dome = rng.uniform() < 1 / 3
                heading = 0.0 if dome else float(rng.uniform(0, 360))
                fov, reach = (360.0, 60.0) if dome else (90.0, 100.0)
                label = f"{name}{placed}号"
                rows.append(
                    (CameraPlacement.AREA, float(lon), float(lat), heading, fov, reach, label)
                )
    return rows
