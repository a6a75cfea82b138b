"""Travel time over the pack's road graph by unit type, with points snapped to the nearest road.

The graph is small (hundreds of junctions), so all-pairs times are precomputed per travel
mode (Floyd-Warshall in numpy); a query is then a snap of both ends plus a table look-up,
which is what lets one recommendation rank thousands of units in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from geo.pack import CountyPack
from geo.projection import LocalProjection, projection_for
from geo.roads import Road, RoadClass
from geo.segment_index import build_segment_index

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


class TravelMode(StrEnum):
    """How a unit moves."""

    CAR = "car"
    EBIKE = "ebike"
    FOOT = "foot"


# km/h by road class, and off the road (from a point to the road it snaps to).
# Cars: county-road practice in Jiangsu (60 / 40 / 25); e-bikes: the 25 km/h national cap
# less junctions; walkers: ~5 km/h.
DEFAULT_SPEEDS_KMH: Mapping[TravelMode, Mapping[RoadClass | str, float]] = {
    TravelMode.CAR: {
        RoadClass.ARTERIAL: 60,
        RoadClass.TOWNSHIP: 40,
        RoadClass.VILLAGE: 25,
        "off": 10,
    },
    TravelMode.EBIKE: {
        RoadClass.ARTERIAL: 22,
        RoadClass.TOWNSHIP: 20,
        RoadClass.VILLAGE: 16,
        "off": 8,
    },
    TravelMode.FOOT: {RoadClass.ARTERIAL: 5, RoadClass.TOWNSHIP: 5, RoadClass.VILLAGE: 5, "off": 4},
}
# Off-road legs are measured straight; real paths wind, so they are stretched by this factor.
OFF_ROAD_DETOUR = 1.3


@dataclass(frozen=True, slots=True)
class Snap:
    """Points (km) snapped to roads: road index, km from the road's start node, km off it."""

    x_km: FloatArray
    y_km: FloatArray
    edge: IntArray
    along_km: FloatArray
    off_km: FloatArray

    def subset(self, index: IntArray) -> Snap:
        """The snaps of some of the points."""
        return Snap(
            self.x_km[index],
            self.y_km[index],
            self.edge[index],
            self.along_km[index],
            self.off_km[index],
        )


@dataclass(frozen=True, slots=True)
class Trip:
    """Travel from one point to another: seconds, km on roads, km off roads."""

    seconds: float
    road_km: float
    off_road_km: float


class Router:
    """Travel times between any two points by mode, over a road graph."""

    def __init__(
        self,
        roads: Sequence[Road],
        proj: LocalProjection,
        speeds: Mapping[TravelMode, Mapping[RoadClass | str, float]] = DEFAULT_SPEEDS_KMH,
    ) -> None:
        """Build the graph and the all-pairs tables; prefer Router.from_pack."""
        if not roads:
            raise ValueError("a router needs at least one road")
        self._proj = proj
        self._speeds = speeds
        lines_km = [proj.geometry_to_km(r.geometry) for r in roads]
        node_of: dict[tuple[float, float], int] = {}
        starts: list[int] = []
        ends: list[int] = []
        for road in roads:
            coords = list(road.geometry.coords)
            for end, bucket in ((coords[0], starts), (coords[-1], ends)):
                key = (round(end[0], 7), round(end[1], 7))
                bucket.append(node_of.setdefault(key, len(node_of)))
        # Roads may be polylines: index their straight segments, remembering each segment's
        # road and its km offset from the road's start.
        seg_a: list[FloatArray] = []
        seg_b: list[FloatArray] = []
        seg_road: list[IntArray] = []
        seg_offset: list[FloatArray] = []
        for r, line in enumerate(lines_km):
            xy = np.asarray(line.coords, dtype=float)
            steps = np.hypot(*np.diff(xy, axis=0).T)
            offsets = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
            seg_a.append(xy[:-1])
            seg_b.append(xy[1:])
            seg_road.append(np.full(len(steps), r, dtype=np.intp))
            seg_offset.append(offsets)
        a_xy, b_xy = np.concatenate(seg_a), np.concatenate(seg_b)
        self._segments = build_segment_index(a_xy[:, 0], a_xy[:, 1], b_xy[:, 0], b_xy[:, 1])
        self._seg_road = np.concatenate(seg_road).astype(np.intp)
        self._seg_offset = np.concatenate(seg_offset)
        self._seg_length = np.hypot(*(b_xy - a_xy).T)
        self._start = np.array(starts, dtype=np.intp)
        self._end = np.array(ends, dtype=np.intp)
        self._length = np.array([line.length for line in lines_km])
        self._classes = [r.road_class for r in roads]
        self.node_count = len(node_of)
        self._hours: dict[TravelMode, FloatArray] = {}
        self._edge_hours_per_km: dict[TravelMode, FloatArray] = {}
        self._road_km: dict[TravelMode, FloatArray] = {}
        for mode, table in speeds.items():
            per_km = np.array([1.0 / table[c] for c in self._classes])
            self._edge_hours_per_km[mode] = per_km
            self._hours[mode], self._road_km[mode] = self._all_pairs(per_km * self._length)

    @classmethod
    def from_pack(cls, pack: CountyPack) -> Router:
        """A router over a pack's roads."""
        return cls(pack.roads, projection_for(pack.boundary))

    def _all_pairs(self, edge_hours: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Fastest times between all node pairs and the road km along those fastest paths."""
        n = self.node_count
        hours = np.full((n, n), np.inf)
        km = np.full((n, n), np.inf)
        np.fill_diagonal(hours, 0.0)
        np.fill_diagonal(km, 0.0)
        for a, b, h, length in zip(self._start, self._end, edge_hours, self._length, strict=True):
            if h < hours[a, b]:
                hours[a, b] = hours[b, a] = h
                km[a, b] = km[b, a] = length
        for k in range(n):
            via = hours[:, k, None] + hours[None, k, :]
            better = via < hours
            hours = np.where(better, via, hours)
            km = np.where(better, km[:, k, None] + km[None, k, :], km)
        return hours, km

    def snap(self, lons: FloatArray, lats: FloatArray) -> Snap:
        """Snap points to their nearest road (ties: the lowest segment index)."""
        x, y = self._proj.to_km(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        seg, off, t = self._segments.nearest(x, y)
        along = self._seg_offset[seg] + t * self._seg_length[seg]
        return Snap(x, y, self._seg_road[seg], along, off)

    def times_to(
        self, origins: Snap, target: Snap, mode: TravelMode
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Seconds, road km and off-road km from each origin to the first target point."""
        per_km = self._edge_hours_per_km[mode]
        hours = self._hours[mode]
        road_km = self._road_km[mode]
        off_speed = self._speeds[mode]["off"]
        te = int(target.edge[0])
        t_along, t_len = float(target.along_km[0]), float(self._length[te])
        t_rate = float(per_km[te])
        # The target can be reached from either end of its edge.
        t_ends = ((int(self._start[te]), t_along), (int(self._end[te]), t_len - t_along))
        e = origins.edge
        o_rate = per_km[e]
        o_ends = (
            (self._start[e], origins.along_km),
            (self._end[e], self._length[e] - origins.along_km),
        )
        best_h = np.full(len(e), np.inf)
        best_km = np.full(len(e), np.inf)
        for o_node, o_km in o_ends:
            for t_node, t_km in t_ends:
                h = o_km * o_rate + hours[o_node, t_node] + t_km * t_rate
                k = o_km + road_km[o_node, t_node] + t_km
                better = h < best_h
                best_h = np.where(better, h, best_h)
                best_km = np.where(better, k, best_km)
        same = e == te
        direct_km = np.abs(origins.along_km - t_along)
        direct_h = direct_km * t_rate
        use_direct = same & (direct_h < best_h)
        best_h = np.where(use_direct, direct_h, best_h)
        best_km = np.where(use_direct, direct_km, best_km)
        off_km = (origins.off_km + float(target.off_km[0])) * OFF_ROAD_DETOUR
        seconds = (best_h + off_km / off_speed) * 3600.0
        # Close by, going straight across beats walking out to a road and back.
        cross_km = np.hypot(origins.x_km - target.x_km[0], origins.y_km - target.y_km[0])
        cross_km = cross_km * OFF_ROAD_DETOUR
        cross_s = cross_km / off_speed * 3600.0
        straight = cross_s < seconds
        return (
            np.where(straight, cross_s, seconds),
            np.where(straight, 0.0, best_km),
            np.where(straight, cross_km, off_km),
        )

    def trip(
        self, from_lon: float, from_lat: float, to_lon: float, to_lat: float, mode: TravelMode
    ) -> Trip:
        """Travel from one point to another by a mode."""
        origin = self.snap(np.array([from_lon]), np.array([from_lat]))
        target = self.snap(np.array([to_lon]), np.array([to_lat]))
        seconds, road_km, off_km = self.times_to(origin, target, mode)
        return Trip(float(seconds[0]), float(road_km[0]), float(off_km[0]))
