"""Driving along the pack's roads: the road graph, fastest paths, and a vehicle moving on one.

`geo.routing.Router` answers how long a trip takes; a simulated unit also needs the way
itself, junction by junction, so this keeps a small adjacency graph of the same roads and
runs Dijkstra on it (a few hundred junctions: microseconds per path).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from geo.roads import Road, RoadClass
from geo.routing import DEFAULT_SPEEDS_KMH, TravelMode
from realtime.sim_places import distance_m


@dataclass(frozen=True, slots=True)
class Edge:
    """One road section from a junction to another, with the points in that direction."""

    to_node: int
    road_code: str
    road_class: RoadClass
    points: tuple[tuple[float, float], ...]
    length_m: float


@dataclass(frozen=True, slots=True)
class Leg:
    """A straight piece of a route, driven at one speed."""

    start: tuple[float, float]
    end: tuple[float, float]
    length_m: float
    speed_kmh: float
    road_code: str


def _polyline_m(points: Sequence[tuple[float, float]]) -> float:
    return sum(distance_m(*a, *b) for a, b in itertools.pairwise(points))


class RoadGraph:
    """The junctions and road sections of a pack, for fastest paths by travel mode."""

    def __init__(
        self,
        roads: Sequence[Road],
        speeds: Mapping[TravelMode, Mapping[RoadClass | str, float]] = DEFAULT_SPEEDS_KMH,
    ) -> None:
        """Junctions are road ends that coincide (to about a centimetre)."""
        if not roads:
            raise ValueError("a road graph needs at least one road")
        self._speeds = speeds
        index: dict[tuple[float, float], int] = {}
        self.nodes: list[tuple[float, float]] = []
        self.edges: list[list[Edge]] = []

        def node(point: tuple[float, float]) -> int:
            key = (round(point[0], 7), round(point[1], 7))
            if key not in index:
                index[key] = len(self.nodes)
                self.nodes.append((point[0], point[1]))
                self.edges.append([])
            return index[key]

        for road in roads:
            points = tuple((float(x), float(y)) for x, y in road.geometry.coords)
            a, b = node(points[0]), node(points[-1])
            length = _polyline_m(points)
            self.edges[a].append(Edge(b, road.code, road.road_class, points, length))
            self.edges[b].append(Edge(a, road.code, road.road_class, points[::-1], length))

    def speed_kmh(self, road_class: RoadClass, mode: TravelMode) -> float:
        """How fast a mode goes on a class of road."""
        return float(self._speeds[mode][road_class])

    def nearest_node(self, lon: float, lat: float) -> int:
        """The junction closest to a point."""
        return min(range(len(self.nodes)), key=lambda n: distance_m(lon, lat, *self.nodes[n]))

    def fastest_path(self, start: int, goal: int, mode: TravelMode) -> list[Edge]:
        """The edges of the fastest way from one junction to another (empty if the same)."""
        best = {start: 0.0}
        previous: dict[int, tuple[int, Edge]] = {}
        queue = [(0.0, start)]
        while queue:
            hours, here = heapq.heappop(queue)
            if here == goal:
                break
            if hours > best[here]:
                continue
            for edge in self.edges[here]:
                arrive = hours + edge.length_m / 1000 / self.speed_kmh(edge.road_class, mode)
                if arrive < best.get(edge.to_node, math.inf):
                    best[edge.to_node] = arrive
                    previous[edge.to_node] = (here, edge)
                    heapq.heappush(queue, (arrive, edge.to_node))
        if goal != start and goal not in previous:
            raise ValueError(f"junction {goal} cannot be reached from {start}")
        path: list[Edge] = []
        here = goal
        while here != start:
            here, edge = previous[here]
            path.append(edge)
        return path[::-1]

    def route(self, start: int, goal: int, mode: TravelMode) -> list[Leg]:
        """The straight legs of the fastest path, each at its road's speed."""
        legs: list[Leg] = []
        for edge in self.fastest_path(start, goal, mode):
            speed = self.speed_kmh(edge.road_class, mode)
            for a, b in itertools.pairwise(edge.points):
                length = distance_m(*a, *b)
                if length > 0:
                    legs.append(Leg(a, b, length, speed, edge.road_code))
        return legs


def bearing_deg(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Compass heading from one point to another (0 = north, 90 = east)."""
    mid = math.radians((start[1] + end[1]) / 2)
    dx = (end[0] - start[0]) * math.cos(mid)
    dy = end[1] - start[1]
    return math.degrees(math.atan2(dx, dy)) % 360.0


@dataclass(frozen=True, slots=True)
class Fix:
    """Where a moving unit is: point, heading and speed."""

    lon: float
    lat: float
    heading: float
    speed_kmh: float


class Drive:
    """A vehicle's progress along a route; `advance` moves it by simulated seconds."""

    def __init__(self, legs: Sequence[Leg], origin: tuple[float, float]) -> None:
        """`origin` is where it stands when the route is empty."""
        self._legs = list(legs)
        self._leg = 0
        self._done_m = 0.0  # along the current leg
        self._here = self._legs[0].start if self._legs else origin

    @property
    def arrived(self) -> bool:
        """Whether the end of the route is reached."""
        return self._leg >= len(self._legs)

    @property
    def remaining_m(self) -> float:
        """Metres still to drive."""
        if self.arrived:
            return 0.0
        rest = sum(leg.length_m for leg in self._legs[self._leg + 1 :])
        return rest + self._legs[self._leg].length_m - self._done_m

    def advance(self, seconds: float) -> Fix:
        """Move on for `seconds` at each leg's speed; return the new fix."""
        heading, speed = 0.0, 0.0
        while seconds > 1e-9 and not self.arrived:
            leg = self._legs[self._leg]
            metres_per_s = leg.speed_kmh / 3.6
            left = leg.length_m - self._done_m
            heading, speed = bearing_deg(leg.start, leg.end), leg.speed_kmh
            if left <= metres_per_s * seconds:
                seconds -= left / metres_per_s
                self._leg += 1
                self._done_m = 0.0
                self._here = leg.end
            else:
                self._done_m += metres_per_s * seconds
                seconds = 0.0
                share = self._done_m / leg.length_m
                self._here = (
                    leg.start[0] + (leg.end[0] - leg.start[0]) * share,
                    leg.start[1] + (leg.end[1] - leg.start[1]) * share,
                )
        if self.arrived:
            speed = 0.0
        return Fix(round(self._here[0], 6), round(self._here[1], 6), round(heading, 1), speed)
