"""Unit positions for screens: latest per unit, sent at most once per flush, scoped by township.

Pure: fixes go in as positions-stream entries, and `flush` gives one `positions` message per
scope that has units which moved. A fix older than the one already held for a unit is
ignored, so a late or replayed fix never moves a unit back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from realtime.fanout import COUNTY_PREFIX_LENGTH
from realtime.live_protocol import Positions, encode
from realtime.positions import (
    PositionRejected,
    UnitPosition,
    decode_fix,
    to_unit_position,
    unit_row,
)

LocateTownship = Callable[[float, float], str | None]


class PositionCoalescer:
    """Keeps each unit's latest position and which units moved since the last flush."""

    def __init__(self, locate_township: LocateTownship | None = None) -> None:
        self._locate_township = locate_township
        self._latest: dict[str, UnitPosition] = {}
        self._moved: set[str] = set()

    def absorb(self, entries: Iterable[dict[bytes, bytes]], now: datetime) -> int:
        """Take in positions-stream entries read at `now`; return how many were valid fixes."""
        valid = 0
        for fields in entries:
            try:
                unit = to_unit_position(decode_fix(fields, now))
            except PositionRejected:
                continue  # the positions consumer dead-letters it; screens just skip it
            known = self._latest.get(unit.unit_id)
            if known is None or known.at_ms <= unit.at_ms:
                self._latest[unit.unit_id] = unit
                self._moved.add(unit.unit_id)
            valid += 1
        return valid

    def take_moved(self) -> list[UnitPosition]:
        """The units that moved since the last call, once each."""
        units = [self._latest[unit_id] for unit_id in self._moved]
        self._moved.clear()
        return units

    def in_scope(self, unit: UnitPosition, prefix: str, towns: dict[str, str | None]) -> bool:
        """Is the unit inside the jurisdiction `prefix`? (`towns` caches lookups per unit.)"""
        if len(prefix) <= COUNTY_PREFIX_LENGTH:
            return True
        if self._locate_township is None:
            return False  # without a map, only county screens may see units
        if unit.unit_id not in towns:
            towns[unit.unit_id] = self._locate_township(unit.lon, unit.lat)
        town = towns[unit.unit_id]
        return town is not None and town.startswith(prefix)

    def messages(self, units: Sequence[UnitPosition], prefixes: Iterable[str]) -> dict[str, bytes]:
        """One `positions` message per scope prefix that has any of these units in it."""
        towns: dict[str, str | None] = {}
        out: dict[str, bytes] = {}
        for prefix in prefixes:
            visible = [unit_row(u) for u in units if self.in_scope(u, prefix, towns)]
            if visible:
                out[prefix] = encode(Positions(units=visible))
        return out
