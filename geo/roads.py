"""Road network features and the deterministic generator of a synthetic one."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from geo.projection import LocalProjection


class RoadClass(StrEnum):
    """Road classes, fastest first (省道/县道, 乡道, 村道)."""

    ARTERIAL = "arterial"
    TOWNSHIP = "township"
    VILLAGE = "village"


@dataclass(frozen=True)
class Road:
    """One road section between two junctions (a WGS-84 LineString)."""

    code: str
    name: str
    road_class: RoadClass
    geometry: LineString
    synthetic: bool


@dataclass(frozen=True, slots=True)
class RoadNode:
    """A place the generated network must reach: a township seat or a village centre."""

    key: str
    name: str
    lon: float
    lat: float
    township_code: str
    is_seat: bool


def inner_point(geom: BaseGeometry) -> Point:
    """The centroid if it lies inside, else a guaranteed interior point."""
    centroid = geom.centroid
    return centroid if geom.contains(centroid) else geom.representative_point()


def generate_roads(
    nodes: Sequence[RoadNode], county: BaseGeometry, proj: LocalProjection
) -> tuple[Road, ...]:
    """Roads linking seats and village centres: a Delaunay-based mesh with classes.

    Edges are Delaunay edges inside the county, no longer than 1.6 times the median (the
    minimum spanning tree is always kept, so the network is connected). Edges on shortest
    paths between neighbouring seats are arterial, seat-to-own-village paths township roads.
    """
    xy = np.array([proj.to_km(np.array([n.lon]), np.array([n.lat])) for n in nodes])[:, :, 0]
    index = {(round(x, 9), round(y, 9)): i for i, (x, y) in enumerate(xy)}
    mesh = shapely.delaunay_triangles(shapely.multipoints(xy), only_edges=True)
    county_km = proj.geometry_to_km(county).buffer(0.2)
    pairs: list[tuple[int, int, float]] = []
    for line in shapely.get_parts(mesh):
        (x0, y0), (x1, y1) = line.coords
        a, b = index[(round(x0, 9), round(y0, 9))], index[(round(x1, 9), round(y1, 9))]
        if county_km.covers(line):
            pairs.append((min(a, b), max(a, b), float(line.length)))
    pairs.sort()
    mst = _minimum_spanning_tree(len(nodes), pairs)
    limit = 1.6 * float(np.median([p[2] for p in pairs]))
    kept = sorted({(a, b) for a, b, length in pairs if length <= limit} | mst)
    lengths = {(a, b): float(np.hypot(*(xy[a] - xy[b]))) for a, b in kept}
    adjacency: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(nodes))}
    for (a, b), length in lengths.items():
        adjacency[a].append((b, length))
        adjacency[b].append((a, length))

    classes: dict[tuple[int, int], RoadClass] = {}
    names: dict[tuple[int, int], str] = {}
    seats = [i for i, n in enumerate(nodes) if n.is_seat]
    seat_xy = xy[seats]
    seat_mesh = shapely.delaunay_triangles(shapely.multipoints(seat_xy), only_edges=True)
    seat_index = {(round(x, 9), round(y, 9)): seats[i] for i, (x, y) in enumerate(seat_xy)}
    for line in shapely.get_parts(seat_mesh):
        (x0, y0), (x1, y1) = line.coords
        a, b = seat_index[(round(x0, 9), round(y0, 9))], seat_index[(round(x1, 9), round(y1, 9))]
        name = f"{_short(nodes[a].name)}—{_short(nodes[b].name)}公路"
        for edge in _path_edges(adjacency, a, b):
            classes[edge] = RoadClass.ARTERIAL
            names.setdefault(edge, name)
    for s in seats:
        for v, node in enumerate(nodes):
            if not node.is_seat and node.township_code == nodes[s].township_code:
                for edge in _path_edges(adjacency, s, v):
                    if classes.setdefault(edge, RoadClass.TOWNSHIP) == RoadClass.TOWNSHIP:
                        names.setdefault(edge, f"{nodes[s].name}乡道")
    roads = []
    for n, (a, b) in enumerate(kept, start=1):
        road_class = classes.get((a, b), RoadClass.VILLAGE)
        village = nodes[b] if not nodes[b].is_seat else nodes[a]
        name = names.get((a, b), f"{_short(village.name)}村道")
        line = LineString([(nodes[a].lon, nodes[a].lat), (nodes[b].lon, nodes[b].lat)])
        roads.append(Road(f"R{n:04d}", name, road_class, line, synthetic=True))
    return tuple(roads)


def _short(name: str) -> str:
    """'淳溪街道' -> '淳溪', '北固村村委会' -> '北固村', '河滨社区居委会' -> '河滨社区'."""
    for suffix in ("村委会", "居委会", "街道", "镇"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name


def _minimum_spanning_tree(n: int, pairs: Sequence[tuple[int, int, float]]) -> set[tuple[int, int]]:
    """Kruskal's MST over (a, b, length) edges; ties broken by node order for determinism."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = set()
    for a, b, _ in sorted(pairs, key=lambda p: (p[2], p[0], p[1])):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            tree.add((a, b))
    return tree


def _path_edges(
    adjacency: Mapping[int, list[tuple[int, float]]], source: int, target: int
) -> list[tuple[int, int]]:
    """Edges (low, high) of the shortest path between two nodes (Dijkstra)."""
    best = {source: 0.0}
    previous: dict[int, int] = {}
    queue = [(0.0, source)]
    while queue:
        dist, node = heapq.heappop(queue)
        if node == target:
            break
        if dist > best[node]:
            continue
        for nxt, length in adjacency[node]:
            if dist + length < best.get(nxt, float("inf")):
                best[nxt] = dist + length
                previous[nxt] = node
                heapq.heappush(queue, (dist + length, nxt))
    edges = []
    node = target
    while node != source and node in previous:
        prev = previous[node]
        edges.append((min(node, prev), max(node, prev)))
        node = prev
    return edges
