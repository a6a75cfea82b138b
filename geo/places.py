"""Key places (重点场所) and the deterministic generator of synthetic ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geo.projection import LocalProjection


class PlaceKind(StrEnum):
    """Kinds of key places shown on maps and covered by cameras."""

    POLICE_STATION = "police_station"
    HEALTH_CENTRE = "health_centre"
    HOSPITAL = "hospital"
    SCHOOL = "school"
    MARKET = "market"
    INDUSTRIAL_PARK = "industrial_park"
    CHEMICAL_PLANT = "chemical_plant"
    POLDER = "polder"
    SCENIC_SPOT = "scenic_spot"
    GOVERNMENT = "government"


@dataclass(frozen=True, slots=True)
class KeyPlace:
    """A key place: a point with a kind and the township it lies in."""

    code: str
    name: str
    kind: PlaceKind
    lon: float
    lat: float
    township_code: str
    synthetic: bool


@dataclass(frozen=True, slots=True)
class PlaceSpec:
    """One place to generate: where to put it (near a point, inside an area) and what it is."""

    name: str
    kind: PlaceKind
    township_code: str
    near_lon: float
    near_lat: float
    within: BaseGeometry
    spread_km: float


def place_specs_for_township(
    code: str, name: str, seat: tuple[float, float], area: BaseGeometry, is_subdistrict: bool
) -> list[PlaceSpec]:
    """The standard set every township has: government, police, health, school, market."""
    short = name.removesuffix("街道").removesuffix("镇")
    health = f"{short}社区卫生服务中心" if is_subdistrict else f"{short}镇卫生院"
    kinds = [
        (f"{name}办事处" if is_subdistrict else f"{name}人民政府", PlaceKind.GOVERNMENT),
        (f"高淳分局{short}派出所", PlaceKind.POLICE_STATION),
        (health, PlaceKind.HEALTH_CENTRE),
        (f"{short}中心小学", PlaceKind.SCHOOL),
        (f"{short}初级中学", PlaceKind.SCHOOL),
        (f"{short}农贸市场", PlaceKind.MARKET),
    ]
    return [PlaceSpec(n, k, code, seat[0], seat[1], area, 1.2) for n, k in kinds]


def generate_places(
    specs: Sequence[PlaceSpec], proj: LocalProjection, rng: np.random.Generator
) -> tuple[KeyPlace, ...]:
    """Place each spec at a random point near its anchor, inside its area."""
    places = []
    for n, spec in enumerate(specs, start=1):
        x0, y0 = proj.to_km(np.array([spec.near_lon]), np.array([spec.near_lat]))
        area_km = proj.geometry_to_km(spec.within)
        for attempt in range(200):
            # Widen the search if the anchor sits near the area's edge.
            spread = spec.spread_km * (1 + attempt / 20)
            x = float(x0[0] + rng.normal(0, spread / 2))
            y = float(y0[0] + rng.normal(0, spread / 2))
            if area_km.contains(Point(x, y)):
                break
        else:
            inner = area_km.representative_point()
            x, y = inner.x, inner.y
        lon, lat = proj.to_deg(np.array([x]), np.array([y]))
        places.append(
            KeyPlace(
                f"P{n:04d}",
                spec.name,
                spec.kind,
                round(float(lon[0]), 6),
                round(float(lat[0]), 6),
                spec.township_code,
                synthetic=True,
            )
        )
    return tuple(places)
