"""Hot spots: case counts per grid and per hexagon over a window, against the window before.

Pure functions over (lon, lat, time) inputs; `window_end` is passed in, never read from a
clock. The current window is [end - window, end), the previous one [end - 2 window,
end - window).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from shapely.geometry import Polygon

from geo.locate import Locator
from geo.projection import LocalProjection

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CasePoint:
    """Where and when a case happened."""

    lon: float
    lat: float
    at: datetime


@dataclass(frozen=True, slots=True)
class HotSpot:
    """Cases in one cell (a grid code or a hexagon key) now and in the previous window."""

    key: str
    count: int
    previous: int

    @property
    def change(self) -> int:
        """Cases now minus cases in the previous window."""
        return self.count - self.previous

    @property
    def change_ratio(self) -> float | None:
        """Relative change; None when the previous window had no case."""
        return None if self.previous == 0 else self.change / self.previous


def _split(
    cases: Iterable[CasePoint], window_end: datetime, window: timedelta
) -> tuple[list[CasePoint], list[CasePoint]]:
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    start, previous_start = window_end - window, window_end - 2 * window
    current, previous = [], []
    for case in cases:
        if start <= case.at < window_end:
            current.append(case)
        elif previous_start <= case.at < start:
            previous.append(case)
    return current, previous


def _rank(now: Counter[str], before: Counter[str]) -> list[HotSpot]:
    """Cells with a case in either window, most cases first, then largest rise, then key."""
    spots = [HotSpot(key, now[key], before[key]) for key in set(now) | set(before)]
    spots.sort(key=lambda s: (-s.count, -s.change, s.key))
    return spots


def grid_hotspots(
    locator: Locator, cases: Iterable[CasePoint], window_end: datetime, window: timedelta
) -> list[HotSpot]:
    """Case counts per grid (cases outside the county are left out)."""
    current, previous = _split(cases, window_end, window)

    def count(batch: Sequence[CasePoint]) -> Counter[str]:
        places = locator.locate_many([c.lon for c in batch], [c.lat for c in batch])
        return Counter(p.grid_code for p in places if p.grid_code is not None)

    return _rank(count(current), count(previous))


@dataclass(frozen=True, slots=True)
class HexGrid:
    """Pointy-top hexagons of a given size (centre to corner) over a local projection."""

    proj: LocalProjection
    size_m: float = 500.0

    def keys(self, lons: FloatArray, lats: FloatArray) -> list[str]:
        """The hexagon key ('q,r' axial coordinates) of each point."""
        x, y = self.proj.to_km(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        size = self.size_m / 1000
        q = (math.sqrt(3) / 3 * x - y / 3) / size
        r = (2 / 3 * y) / size
        # Cube rounding: round all three cube coordinates, fix the one that moved most.
        s = -q - r
        rq, rr, rs = np.round(q), np.round(r), np.round(s)
        dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        rq = np.where(fix_q, -rr - rs, rq)
        rr = np.where(fix_r, -rq - rs, rr)
        return [f"{int(a)},{int(b)}" for a, b in zip(rq, rr, strict=True)]

    def polygon(self, key: str) -> Polygon:
        """The WGS-84 hexagon of a key."""
        q, r = (int(v) for v in key.split(","))
        size = self.size_m / 1000
        cx = size * math.sqrt(3) * (q + r / 2)
        cy = size * 1.5 * r
        angles = np.radians(np.arange(6) * 60 + 30)
        xs, ys = cx + size * np.cos(angles), cy + size * np.sin(angles)
        lons, lats = self.proj.to_deg(xs, ys)
        return Polygon(zip(lons.tolist(), lats.tolist(), strict=True))


def hex_hotspots(
    hexes: HexGrid, cases: Iterable[CasePoint], window_end: datetime, window: timedelta
) -> list[HotSpot]:
    """Case counts per hexagon."""
    current, previous = _split(cases, window_end, window)

    def count(batch: Sequence[CasePoint]) -> Counter[str]:
        lons = np.array([c.lon for c in batch], dtype=float)
        lats = np.array([c.lat for c in batch], dtype=float)
        return Counter(hexes.keys(lons, lats))

    return _rank(count(current), count(previous))
