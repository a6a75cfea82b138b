"""A raster index over a polygon coverage: most cells answer "which polygon" with one array read.

Each cell of a regular lon/lat lattice is either *pure* (no polygon edge touches it, so its
centre's polygon, or none, holds for every point in it) or *mixed* (an edge touches it; the
polygons whose edges touch it are the candidates for an exact test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

IntArray = npt.NDArray[np.int64]

OUTSIDE = -1
# Cells store a polygon index (>= 0), OUTSIDE, or MIXED_BASE - k for the k-th mixed cell.
MIXED_BASE = -2
# Sample polygon edges at a quarter cell, then also mark a neighbour when a sample lies
# within half that step of it: every cell an edge touches is then marked, with no gaps.
_SAMPLE_STEP = 0.25
_NEAR = _SAMPLE_STEP / 2 + 1e-9


@dataclass(frozen=True)
class CellIndex:
    """Lattice origin and cell size (degrees), the cell table, and mixed-cell candidates."""

    x0: float
    y0: float
    dx: float
    dy: float
    table: npt.NDArray[np.int32]
    candidate_offsets: IntArray
    candidates: IntArray

    def cell_of(self, lon: float, lat: float) -> int:
        """The table value for a point: polygon index, OUTSIDE, or a mixed-cell code."""
        i = int((lon - self.x0) / self.dx // 1)
        j = int((lat - self.y0) / self.dy // 1)
        ny, nx = self.table.shape
        if 0 <= i < nx and 0 <= j < ny:
            return int(self.table[j, i])
        return OUTSIDE

    def cells_of(self, lons: npt.NDArray[np.float64], lats: npt.NDArray[np.float64]) -> IntArray:
        """Table values for many points at once."""
        i = np.floor((lons - self.x0) / self.dx).astype(np.int64)
        j = np.floor((lats - self.y0) / self.dy).astype(np.int64)
        ny, nx = self.table.shape
        ok = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        out = np.full(len(lons), OUTSIDE, dtype=np.int64)
        out[ok] = self.table[j[ok], i[ok]]
        return out

    def candidates_of(self, code: int) -> IntArray:
        """Polygon indices (ascending) whose edges touch a mixed cell."""
        k = MIXED_BASE - code
        return self.candidates[self.candidate_offsets[k] : self.candidate_offsets[k + 1]]


def build_cell_index(
    polygons: Sequence[BaseGeometry], extent: BaseGeometry, cell_deg: float
) -> CellIndex:
    """Index polygons (by position in the sequence) over the bounding box of an extent."""
    minx, miny, maxx, maxy = extent.bounds
    dx = dy = cell_deg
    x0, y0 = minx - dx, miny - dy
    nx = int(np.ceil((maxx - x0) / dx)) + 2
    ny = int(np.ceil((maxy - y0) / dy)) + 2
    table = np.full((ny, nx), OUTSIDE, dtype=np.int32)

    # Pure cells take the polygon under their centre.
    for idx, poly in enumerate(polygons):
        bx0, by0, bx1, by1 = poly.bounds
        i0, i1 = int((bx0 - x0) // dx), int((bx1 - x0) // dx) + 1
        j0, j1 = int((by0 - y0) // dy), int((by1 - y0) // dy) + 1
        cx = x0 + (np.arange(i0, i1) + 0.5) * dx
        cy = y0 + (np.arange(j0, j1) + 0.5) * dy
        gx, gy = np.meshgrid(cx, cy)
        inside = shapely.contains_xy(poly, gx, gy)
        block = table[j0:j1, i0:i1]
        block[inside] = idx

    # Mixed cells: every cell a polygon edge (or the extent's edge) touches.
    cell_ids, owners = _touched_cells(polygons, x0, y0, dx, dy, nx)
    extent_cells, _ = _touched_cells([extent], x0, y0, dx, dy, nx)
    pairs = np.unique(cell_ids * (len(polygons) + 1) + owners)
    pair_cells, pair_owner = np.divmod(pairs, len(polygons) + 1)
    mixed = np.union1d(pair_cells, extent_cells)
    offsets = np.searchsorted(pair_cells, mixed, side="left")
    offsets = np.append(offsets, len(pair_cells)).astype(np.int64)
    flat = table.reshape(-1)
    flat[mixed] = MIXED_BASE - np.arange(len(mixed))
    return CellIndex(x0, y0, dx, dy, table, offsets, pair_owner.astype(np.int64))


def _touched_cells(
    polygons: Sequence[BaseGeometry], x0: float, y0: float, dx: float, dy: float, nx: int
) -> tuple[IntArray, IntArray]:
    """(flat cell id, polygon index) for every cell each polygon's boundary touches."""
    rings, ring_owner = shapely.get_rings(np.asarray(polygons, dtype=object), return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    u = (coords[:, 0] - x0) / dx
    v = (coords[:, 1] - y0) / dy
    same = coord_ring[1:] == coord_ring[:-1]
    ua, va, ub, vb = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
    seg_owner = ring_owner[coord_ring[:-1][same]]
    steps = np.maximum(np.ceil(np.hypot(ub - ua, vb - va) / _SAMPLE_STEP), 1).astype(np.int64)
    seg = np.repeat(np.arange(len(ua)), steps + 1)
    t = (
        np.arange(len(seg)) - np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)
    ) / np.repeat(steps, steps + 1)
    su = ua[seg] + t * (ub[seg] - ua[seg])
    sv = va[seg] + t * (vb[seg] - va[seg])
    owner = seg_owner[seg]
    ci, cj = np.floor(su).astype(np.int64), np.floor(sv).astype(np.int64)
    fu, fv = su - ci, sv - cj
    out_cells = []
    out_owner = []
    for di, mi in ((0, None), (-1, fu < _NEAR), (1, fu > 1 - _NEAR)):
        for dj, mj in ((0, None), (-1, fv < _NEAR), (1, fv > 1 - _NEAR)):
            mask = np.ones(len(su), dtype=bool)
            if mi is not None:
                mask &= mi
            if mj is not None:
                mask &= mj
            out_cells.append((cj[mask] + dj) * nx + ci[mask] + di)
            out_owner.append(owner[mask])
    return np.concatenate(out_cells), np.concatenate(out_owner).astype(np.int64)
