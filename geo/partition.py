"""Deterministic planar partitions used to generate synthetic divisions (kilometre space)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def lattice_points(area: BaseGeometry, spacing_km: float) -> FloatArray:
    """Centres of a square lattice that fall inside an area, as an (n, 2) array."""
    minx, miny, maxx, maxy = area.bounds
    xs = np.arange(minx + spacing_km / 2, maxx, spacing_km)
    ys = np.arange(miny + spacing_km / 2, maxy, spacing_km)
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    gx, gy = mesh_x.ravel(), mesh_y.ravel()
    inside = shapely.contains_xy(area, gx, gy)
    return np.column_stack([gx[inside], gy[inside]])


def power_labels(
    points: FloatArray, sites: FloatArray, groups: IntArray, weights: FloatArray
) -> IntArray:
    """The group of the power-diagram site (|p - s|² - w smallest) each point falls nearest to.

    A group (a township) may own several sites that share one weight.
    """
    d2 = ((points[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2)
    labels: IntArray = groups[np.argmin(d2 - weights[groups][None, :], axis=1)]
    return labels


def fit_power_weights(
    points: FloatArray,
    sites: FloatArray,
    groups: IntArray,
    shares: FloatArray,
    total_area: float,
    iterations: int = 400,
) -> FloatArray:
    """Group weights whose power diagram gives each group roughly its target share of points."""
    weights = np.zeros(len(shares))
    for _ in range(iterations):
        labels = power_labels(points, sites, groups, weights)
        got = np.bincount(labels, minlength=len(shares)) / len(points)
        # A weight change of dw moves a border by about dw / (2 * site spacing); scaling by
        # the total area keeps the step in the right units whatever the county size.
        weights += 0.5 * (shares - got) * total_area
        weights -= weights.mean()
    return weights


def kmeans_centres(
    points: FloatArray, k: int, rng: np.random.Generator, iterations: int = 40
) -> FloatArray:
    """Lloyd's k-means centres of points: k roughly equal-area clusters."""
    if k >= len(points):
        raise ValueError(f"cannot make {k} clusters from {len(points)} points")
    centres = points[rng.choice(len(points), size=k, replace=False)].copy()
    for _ in range(iterations):
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(d2, axis=1)
        for c in range(k):
            members = points[labels == c]
            if len(members):
                centres[c] = members.mean(axis=0)
            else:
                # An empty cluster restarts at the point worst served by the others.
                centres[c] = points[int(np.argmax(d2.min(axis=1)))]
    return centres


def voronoi_cells(sites: FloatArray, clip: BaseGeometry) -> list[BaseGeometry]:
    """Voronoi cells of the sites clipped to an area, in site order."""
    if len(sites) == 1:
        return [clip]
    minx, miny, maxx, maxy = clip.bounds
    pad = max(maxx - minx, maxy - miny)
    frame = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame, ordered=True)
    cells = shapely.get_parts(diagram)
    return list(shapely.intersection(cells, clip))
