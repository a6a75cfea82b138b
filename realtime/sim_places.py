"""Where simulated things happen: the pack's hot spots and small metric helpers."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from geo.pack import CountyPack
from geo.places import PlaceKind

EARTH_M_PER_DEG_LAT = 110_574.0
EARTH_M_PER_DEG_LON_EQUATOR = 111_320.0


class SpotKind(StrEnum):
    """Kinds of hot spot, each with its own mix of report categories."""

    COUNTY_SEAT = "county_seat"
    MARKET = "market"
    INDUSTRIAL = "industrial"
    POLDER = "polder"
    TOWNSHIP_SEAT = "township_seat"
    VILLAGE = "village"


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A place that draws reports: a point, how far around it reports fall, how many it draws."""

    name: str
    kind: SpotKind
    lon: float
    lat: float
    radius_m: float
    weight: float
    township_code: str


def offset_m(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point `east_m`/`north_m` metres away (local flat approximation, fine in a county)."""
    dlat = north_m / EARTH_M_PER_DEG_LAT
    dlon = east_m / (EARTH_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two nearby points (local flat approximation)."""
    mid = math.radians((lat1 + lat2) / 2)
    dx = (lon2 - lon1) * EARTH_M_PER_DEG_LON_EQUATOR * math.cos(mid)
    dy = (lat2 - lat1) * EARTH_M_PER_DEG_LAT
    return math.hypot(dx, dy)


def scatter(lon: float, lat: float, radius_m: float, rng: random.Random) -> tuple[float, float]:
    """A point around (lon, lat), normally spread with `radius_m` as about two sigmas."""
    east, north = rng.gauss(0, radius_m / 2), rng.gauss(0, radius_m / 2)
    x, y = offset_m(lon, lat, east, north)
    return round(x, 6), round(y, 6)


# Relative pull of each kind; the county seat (district town) draws the most by far.
_SPOT_WEIGHTS = {
    SpotKind.COUNTY_SEAT: 14.0,
    SpotKind.MARKET: 3.0,
    SpotKind.INDUSTRIAL: 3.0,
    SpotKind.POLDER: 1.5,
    SpotKind.TOWNSHIP_SEAT: 2.0,
    SpotKind.VILLAGE: 0.35,
}
_PLACE_SPOTS = {
    PlaceKind.MARKET: (SpotKind.MARKET, 150.0),
    PlaceKind.INDUSTRIAL_PARK: (SpotKind.INDUSTRIAL, 600.0),
    PlaceKind.CHEMICAL_PLANT: (SpotKind.INDUSTRIAL, 200.0),
    PlaceKind.POLDER: (SpotKind.POLDER, 800.0),
}


def hot_spots(pack: CountyPack) -> tuple[HotSpot, ...]:
    """The pack's hot spots: its seat, markets, industrial park, polders, seats and villages.

    The county seat is the first township's government: GB/T 2260 numbers the seat's
    sub-district first (淳溪街道 in Gaochun).
    """
    spots: list[HotSpot] = []
    seat_township = pack.townships[0]
    for place in pack.places:
        if place.kind is PlaceKind.GOVERNMENT:
            is_seat = place.township_code == seat_township.code
            kind = SpotKind.COUNTY_SEAT if is_seat else SpotKind.TOWNSHIP_SEAT
            radius = 1500.0 if is_seat else 500.0
        elif place.kind in _PLACE_SPOTS:
            kind, radius = _PLACE_SPOTS[place.kind]
        else:
            continue
        spots.append(
            HotSpot(
                place.name,
                kind,
                place.lon,
                place.lat,
                radius,
                _SPOT_WEIGHTS[kind],
                place.township_code,
            )
        )
    for village in pack.villages:
        centre = village.geometry.representative_point()
        spots.append(
            HotSpot(
                village.name,
                SpotKind.VILLAGE,
                round(centre.x, 6),
                round(centre.y, 6),
                300.0,
                _SPOT_WEIGHTS[SpotKind.VILLAGE],
                village.parent_code or "",
            )
        )
    return tuple(spots)


def spots_of_kind(spots: Sequence[HotSpot], *kinds: SpotKind) -> list[HotSpot]:
    """The hot spots of some kinds, in pack order."""
    return [s for s in spots if s.kind in kinds]
