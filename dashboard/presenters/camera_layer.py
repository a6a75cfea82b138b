"""The console map's camera layer: markers as compact rows, and the legend's statuses."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

# Every status a camera marker can show, most prominent last (the order the legend lists).
CAMERA_STATUSES: tuple[str, ...] = ("online", "offline", "fault", "alarm")
# One row per camera in this field order: 20,000 objects with repeated keys would be ~3x the
# bytes, and the browser reads the names from here instead of spelling them out.
CAMERA_FIELDS: tuple[str, ...] = ("code", "lon", "lat", "status", "since", "name")
# ~0.1 m: finer digits only add bytes to the page's first load.
COORDINATE_DIGITS = 6


class Marker(Protocol):
    """What a camera marker is made from (incidents.store.camera_store.CameraMarker)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def status(self) -> str | None: ...
    @property
    def since(self) -> datetime | None: ...


def camera_rows(markers: Iterable[Marker]) -> list[list[Any]]:
    """Markers as rows in `CAMERA_FIELDS` order; an unknown status is sent as null."""
    return [
        [
            m.code,
            round(m.lon, COORDINATE_DIGITS),
            round(m.lat, COORDINATE_DIGITS),
            m.status if m.status in CAMERA_STATUSES else None,
            m.since.isoformat() if m.since is not None else None,
            m.name,
        ]
        for m in markers
    ]


def camera_layer(markers: Iterable[Marker]) -> dict[str, Any]:
    """The body the browser loads the layer from: field names, then the rows."""
    return {"fields": list(CAMERA_FIELDS), "rows": camera_rows(markers)}
