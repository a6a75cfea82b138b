"""周边: who and what is near a case — the nearest units (busy ones too) and the cameras
that see its place, as the panel lists them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dashboard.i18n import text
from incidents.camera_defence import DOWN_STATUSES, CameraSight
from incidents.case import Location
from incidents.merging import distance_m
from incidents.units import UnitRecord, UnitStatus

# A compact list: the dispatch list ranks the capable units; this says who is close at all.
NEAREST_UNITS = 6
SEEING_CAMERAS = 6
# The statuses the camera bridge records; anything else reads as not heard from.
_CAMERA_STATUSES = frozenset({"online", "offline", "fault", "alarm"})


@dataclass(frozen=True, slots=True)
class NearUnit:
    """A unit with a known position, by straight-line distance from the case."""

    unit_id: str
    name: str
    type_words: str
    status_words: str
    distance_m: float
    busy: bool
    eta_words: str  # by road, when the router gave one ('' if not)


@dataclass(frozen=True, slots=True)
class SeeingCamera:
    """A camera whose field of view holds the case's place."""

    code: str
    name: str
    status_words: str
    distance_m: float
    down: bool


def nearest_units(
    lon: float,
    lat: float,
    records: Sequence[UnitRecord],
    positions: Mapping[str, tuple[float, float, datetime]],
    lang: str,
    limit: int = NEAREST_UNITS,
) -> list[NearUnit]:
    """The `limit` units nearest the case, whatever their status; unknown positions left out."""
    here = Location(lon, lat)
    placed = []
    for record in records:
        fix = positions.get(record.unit.unit_id)
        if fix is not None:
            placed.append((distance_m(here, Location(fix[0], fix[1])), record))
    placed.sort(key=lambda pair: (pair[0], pair[1].unit.unit_id))
    return [
        NearUnit(
            record.unit.unit_id,
            record.unit.name,
            text(lang, f"utype_{record.unit.type.value}"),
            text(lang, f"ustatus_{record.status.value}"),
            round(metres, 1),
            record.status is not UnitStatus.AVAILABLE,
            "",
        )
        for metres, record in placed[:limit]
    ]


def with_etas(units: Sequence[NearUnit], eta_s: Mapping[str, float], lang: str) -> list[NearUnit]:
    """The same units with their road time where the router found one."""
    return [
        NearUnit(
            u.unit_id,
            u.name,
            u.type_words,
            u.status_words,
            u.distance_m,
            u.busy,
            text(lang, "around_eta").format(min=max(1, round(eta_s[u.unit_id] / 60)))
            if u.unit_id in eta_s
            else "",
        )
        for u in units
    ]


def seeing_cameras(
    sights: Sequence[CameraSight], lang: str, limit: int = SEEING_CAMERAS
) -> list[SeeingCamera]:
    """The cameras that see the place, nearest first (a camera never heard from says so)."""
    return [
        SeeingCamera(
            s.camera_id,
            s.name,
            text(lang, f"around_camera_{s.status if s.status in _CAMERA_STATUSES else 'unknown'}"),
            s.distance_m,
            s.status in DOWN_STATUSES or s.status not in _CAMERA_STATUSES,
        )
        for s in sights[:limit]
    ]


def distance_words(metres: float, lang: str) -> str:
    """A distance as the list shows it: metres below a kilometre, else kilometres."""
    if metres < 1000:
        return text(lang, "around_m").format(m=round(metres))
    return text(lang, "around_km").format(km=f"{metres / 1000:.1f}")
