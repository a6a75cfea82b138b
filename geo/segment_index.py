"""Nearest-segment search for many points at once, in plain numpy.

A raster over the area lists, for each cell, the only segments that can be nearest to any
point in it: with d the distance from the cell centre to its nearest segment and r the
cell's half-diagonal, a segment farther than d + 2r from the centre never wins. Queries
then test a handful of candidates per point instead of a tree walk per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def point_segment_distance(
    px: FloatArray, py: FloatArray, ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Distance from points to segments (broadcast) and the fraction along each segment."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    ex, ey = ax + t * dx - px, ay + t * dy - py
    return np.sqrt(ex * ex + ey * ey), t


@dataclass(frozen=True)
class SegmentIndex:
    """Segments (a -> b, in km) and per-cell candidate lists."""

    ax: FloatArray
    ay: FloatArray
    bx: FloatArray
    by: FloatArray
    x0: float
    y0: float
    cell_km: float
    nx: int
    ny: int
    candidates: npt.NDArray[np.int32]

    def nearest(self, px: FloatArray, py: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
        """Index of the nearest segment, the distance to it and the fraction along it.

        Equal distances go to the lowest segment index.
        """
        i = np.floor((px - self.x0) / self.cell_km).astype(np.intp)
        j = np.floor((py - self.y0) / self.cell_km).astype(np.intp)
        inside = (i >= 0) & (i < self.nx) & (j >= 0) & (j < self.ny)
        best = np.empty(len(px), dtype=np.intp)
        if inside.any():
            cand = self.candidates[j[inside] * self.nx + i[inside]].astype(np.intp)
            best[inside] = self._pick(px[inside], py[inside], cand)
        if (~inside).any():
            every = np.broadcast_to(np.arange(len(self.ax)), ((~inside).sum(), len(self.ax)))
            best[~inside] = self._pick(px[~inside], py[~inside], every)
        dist, t = point_segment_distance(
            px, py, self.ax[best], self.ay[best], self.bx[best], self.by[best]
        )
        return best, dist, t

    def _pick(self, px: FloatArray, py: FloatArray, cand: IntArray) -> IntArray:
        safe = np.maximum(cand, 0)
        dist, _ = point_segment_distance(
            px[:, None], py[:, None], self.ax[safe], self.ay[safe], self.bx[safe], self.by[safe]
        )
        dist = np.where(cand >= 0, dist, np.inf)
        # Sort candidates ascending first so argmin's first-minimum rule means lowest index.
        order = np.argsort(np.where(cand >= 0, cand, np.iinfo(np.intp).max), axis=1)
        dist_sorted = np.take_along_axis(dist, order, axis=1)
        pos = np.argmin(dist_sorted, axis=1)
        winner: IntArray = np.take_along_axis(cand, order, axis=1)[np.arange(len(px)), pos]
        return winner


def build_segment_index(
    ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray, cell_km: float = 0.5
) -> SegmentIndex:
    """Index segments over their bounding box plus a margin of a few cells."""
    margin = 4 * cell_km
    x0 = float(min(ax.min(), bx.min())) - margin
    y0 = float(min(ay.min(), by.min())) - margin
    nx = int(np.ceil((max(ax.max(), bx.max()) + margin - x0) / cell_km))
    ny = int(np.ceil((max(ay.max(), by.max()) + margin - y0) / cell_km))
    cx = x0 + (np.arange(nx) + 0.5) * cell_km
    cy = y0 + (np.arange(ny) + 0.5) * cell_km
    gx, gy = np.meshgrid(cx, cy)
    qx, qy = gx.ravel(), gy.ravel()
    half_diagonal = cell_km * np.sqrt(2) / 2
    lists: list[IntArray] = []
    chunk = 2048
    for s in range(0, len(qx), chunk):
        dist, _ = point_segment_distance(
            qx[s : s + chunk, None], qy[s : s + chunk, None], ax, ay, bx, by
        )
        limit = dist.min(axis=1, keepdims=True) + 2 * half_diagonal + 1e-9
        for row in dist <= limit:
            lists.append(np.flatnonzero(row))
    width = max(len(c) for c in lists)
    table = np.full((len(lists), width), -1, dtype=np.int32)
    for k, c in enumerate(lists):
        table[k, : len(c)] = c
    return SegmentIndex(ax, ay, bx, by, x0, y0, cell_km, nx, ny, table)
