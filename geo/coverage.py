"""Camera queries: which cameras see a point, which are near a case, and township coverage."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from geo.cameras import Camera
from geo.pack import CountyPack
from geo.projection import LocalProjection, projection_for

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Road coverage is measured on points this far apart along every road.
ROAD_SAMPLE_STEP_KM = 0.05


@dataclass(frozen=True, slots=True)
class CameraHit:
    """A camera and its distance (metres) to the point asked about."""

    camera: Camera
    distance_m: float


@dataclass(frozen=True, slots=True)
class TownshipCoverage:
    """Share of a township's roads and key places seen by at least one online camera."""

    township_code: str
    township_name: str
    road_km: float
    road_share: float
    places_total: int
    places_covered: int
    cameras_total: int
    cameras_online: int


class CameraIndex:
    """Cameras as sectors (position, heading, field of view, range) in kilometre space."""

    def __init__(self, cameras: Sequence[Camera], proj: LocalProjection) -> None:
        """Index cameras; prefer CameraIndex.from_pack."""
        self.cameras = tuple(cameras)
        self._proj = proj
        x, y = proj.to_km(
            np.array([c.lon for c in cameras], dtype=float),
            np.array([c.lat for c in cameras], dtype=float),
        )
        self._x, self._y = x, y
        self._heading = np.array([c.heading_deg for c in cameras], dtype=float)
        self._half_fov = np.array([c.fov_deg / 2 for c in cameras], dtype=float)
        self._reach = np.array([c.range_m / 1000 for c in cameras], dtype=float)
        self._codes = [c.code for c in cameras]

    @classmethod
    def from_pack(cls, pack: CountyPack, cameras: Sequence[Camera] | None = None) -> CameraIndex:
        """An index over a pack's cameras (or another camera set on the same pack)."""
        return cls(pack.cameras if cameras is None else cameras, projection_for(pack.boundary))

    def _online_mask(self, online: Container[str] | None) -> npt.NDArray[np.bool_]:
        if online is None:
            return np.ones(len(self._codes), dtype=bool)
        return np.array([c in online for c in self._codes], dtype=bool)

    def seeing(
        self, lon: float, lat: float, online: Container[str] | None = None
    ) -> list[CameraHit]:
        """Cameras whose sector contains the point, nearest first (online ones if given)."""
        px, py = self._proj.to_km(np.array([lon]), np.array([lat]))
        x, y = float(px[0]), float(py[0])
        # Distance first (cheap), angles only for the few cameras in range.
        idx = np.flatnonzero(np.hypot(self._x - x, self._y - y) <= self._reach)
        sees = _sees(
            self._x[idx],
            self._y[idx],
            self._heading[idx],
            self._half_fov[idx],
            self._reach[idx],
            x,
            y,
        )
        return self._hits(idx[sees], x, y, online)

    def near(
        self, lon: float, lat: float, radius_m: float = 300.0, online: Container[str] | None = None
    ) -> list[CameraHit]:
        """Cameras within a radius of a point (say, a case), nearest first."""
        px, py = self._proj.to_km(np.array([lon]), np.array([lat]))
        x, y = float(px[0]), float(py[0])
        within = np.hypot(self._x - x, self._y - y) <= radius_m / 1000
        return self._hits(np.flatnonzero(within), x, y, online)

    def _hits(
        self, idx: IntArray, px: float, py: float, online: Container[str] | None
    ) -> list[CameraHit]:
        # Online status is checked only for the few cameras in range, not all of them.
        if online is not None:
            idx = np.array([i for i in idx.tolist() if self._codes[i] in online], dtype=np.intp)
        dist = np.hypot(self._x[idx] - px, self._y[idx] - py)
        # Nearest first; equal distances by camera code, so answers are stable.
        order = sorted(range(len(idx)), key=lambda k: (float(dist[k]), self._codes[idx[k]]))
        return [CameraHit(self.cameras[idx[k]], float(dist[k]) * 1000) for k in order]

    def covered(
        self, lons: FloatArray, lats: FloatArray, online: Container[str] | None = None
    ) -> npt.NDArray[np.bool_]:
        """For many points, whether at least one (online) camera sees each."""
        px, py = self._proj.to_km(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        active = np.flatnonzero(self._online_mask(online))
        result = np.zeros(len(px), dtype=bool)
        if len(active) == 0 or len(px) == 0:
            return result
        cell = float(self._reach[active].max())
        cam, pt = _pairs_within(self._x[active], self._y[active], px, py, cell)
        cam = active[cam]
        sees = _sees(
            self._x[cam], self._y[cam], self._heading[cam], self._half_fov[cam], self._reach[cam],
            px[pt], py[pt],
        )  # fmt: skip
        result[pt[sees]] = True
        return result

    def township_coverage(
        self, pack: CountyPack, online: Container[str] | None = None
    ) -> list[TownshipCoverage]:
        """Per township: share of road length and of key places seen by online cameras."""
        lons, lats = _road_samples(pack, self._proj)
        covered = self.covered(lons, lats, online)
        place_lons = np.array([p.lon for p in pack.places], dtype=float)
        place_lats = np.array([p.lat for p in pack.places], dtype=float)
        place_seen = self.covered(place_lons, place_lats, online)
        online_mask = self._online_mask(online)
        town_of_camera = np.array([c.township_code for c in self.cameras])
        out = []
        for town in pack.townships:
            inside = shapely.contains_xy(town.geometry, lons, lats)
            n = int(inside.sum())
            mine = [i for i, p in enumerate(pack.places) if p.township_code == town.code]
            cams = town_of_camera == town.code
            out.append(
                TownshipCoverage(
                    town.code,
                    town.name,
                    n * ROAD_SAMPLE_STEP_KM,
                    float(covered[inside].mean()) if n else 0.0,
                    len(mine),
                    int(place_seen[mine].sum()) if mine else 0,
                    int(cams.sum()),
                    int((cams & online_mask).sum()),
                )
            )
        return out


def _sees(
    cx: FloatArray,
    cy: FloatArray,
    heading: FloatArray,
    half_fov: FloatArray,
    reach: FloatArray,
    px: FloatArray | float,
    py: FloatArray | float,
) -> npt.NDArray[np.bool_]:
    """Whether each camera's sector holds its point (a point on the camera counts)."""
    dx, dy = px - cx, py - cy
    dist = np.hypot(dx, dy)
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    off_axis = np.abs((bearing - heading + 180.0) % 360.0 - 180.0)
    in_view = (half_fov >= 180.0) | (off_axis <= half_fov) | (dist == 0)
    result: npt.NDArray[np.bool_] = (dist <= reach) & in_view
    return result


def _pairs_within(
    cx: FloatArray, cy: FloatArray, px: FloatArray, py: FloatArray, cell: float
) -> tuple[IntArray, IntArray]:
    """(camera, point) index pairs whose cells are neighbours: a superset of pairs within `cell`."""
    x0, y0 = float(min(cx.min(), px.min())), float(min(cy.min(), py.min()))
    pi = np.floor((px - x0) / cell).astype(np.int64)
    pj = np.floor((py - y0) / cell).astype(np.int64)
    width = int(pi.max()) + 3
    point_cell = pj * width + pi
    order = np.argsort(point_cell, kind="stable")
    sorted_cells = point_cell[order]
    ci = np.floor((cx - x0) / cell).astype(np.int64)
    cj = np.floor((cy - y0) / cell).astype(np.int64)
    cams: list[IntArray] = []
    pts: list[IntArray] = []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            target = (cj + dj) * width + (ci + di)
            lo = np.searchsorted(sorted_cells, target, side="left")
            hi = np.searchsorted(sorted_cells, target, side="right")
            counts = hi - lo
            cam = np.repeat(np.arange(len(cx)), counts)
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            pts.append(order[starts + np.arange(len(cam))])
            cams.append(cam)
    return np.concatenate(cams).astype(np.intp), np.concatenate(pts).astype(np.intp)


def _road_samples(pack: CountyPack, proj: LocalProjection) -> tuple[FloatArray, FloatArray]:
    """Points every ROAD_SAMPLE_STEP_KM along every road (the middle of each step)."""
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for road in pack.roads:
        line = proj.geometry_to_km(road.geometry)
        n = max(1, round(line.length / ROAD_SAMPLE_STEP_KM))
        at = (np.arange(n) + 0.5) / n
        pts = shapely.line_interpolate_point(line, at, normalized=True)
        xy = shapely.get_coordinates(pts)
        xs.append(xy[:, 0])
        ys.append(xy[:, 1])
    lon, lat = proj.to_deg(np.concatenate(xs), np.concatenate(ys))
    return lon, lat
