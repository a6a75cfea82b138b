"""A local equirectangular projection to kilometres, good to ~0.1 % over one county."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]

# Metres per degree of latitude on the WGS-84 ellipsoid near 31°N (close enough for a county).
KM_PER_DEG_LAT = 110.86
KM_PER_DEG_LON_EQUATOR = 111.32


@dataclass(frozen=True, slots=True)
class LocalProjection:
    """Maps lon/lat degrees to x/y kilometres around an origin, and back."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        """Kilometres per degree of longitude at the origin's latitude."""
        return KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        """Kilometres per degree of latitude."""
        return KM_PER_DEG_LAT

    def to_km(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Project degree arrays to kilometre arrays."""
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def to_deg(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Unproject kilometre arrays to degree arrays."""
        return x / self.kx + self.lon0, y / self.ky + self.lat0

    def geometry_to_km(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a geometry (an affine map, so straight edges stay straight)."""
        return shapely.transform(geom, self._coords_to_km)

    def geometry_to_deg(self, geom: BaseGeometry) -> BaseGeometry:
        """Unproject a geometry."""
        return shapely.transform(geom, self._coords_to_deg)

    def _coords_to_km(self, coords: FloatArray) -> FloatArray:
        x, y = self.to_km(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def _coords_to_deg(self, coords: FloatArray) -> FloatArray:
        x, y = self.to_deg(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])


def projection_for(geom: BaseGeometry) -> LocalProjection:
    """A projection centred on a geometry's bounding box."""
    minx, miny, maxx, maxy = geom.bounds
    return LocalProjection((minx + maxx) / 2, (miny + maxy) / 2)
