"""The official division registry (NBS statistical division codes) read from a pack's CSV files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# Township-level codes 400-499 are state farms, forest farms and prisons (农场、林场、监狱):
# each has one "virtual community" and no residents a command centre dispatches to.
SPECIAL_UNIT_MIN = 400


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One registered division: 12-digit code, official name, parent's 12-digit code."""

    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class Registry:
    """The county, its townships and villages as the NBS registers them."""

    county: RegistryEntry
    townships: tuple[RegistryEntry, ...]
    villages: tuple[RegistryEntry, ...]


def county_code12(code6: str) -> str:
    """The 12-digit form of a 6-digit county code."""
    return code6 + "000000"


def is_special_unit(code12: str) -> bool:
    """True for the farm / forest / prison township-level units (codes 400-499)."""
    return int(code12[6:9]) >= SPECIAL_UNIT_MIN


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_registry(
    areas: Path, townships: Path, villages: Path, include_special_units: bool = False
) -> Registry:
    """Read the county, township (9-digit street codes) and village CSVs, sorted by code."""
    (area,) = _rows(areas)
    county = RegistryEntry(county_code12(area["code"]), area["name"], None)
    town_entries = []
    for row in _rows(townships):
        code = row["code"] + "000"
        if include_special_units or not is_special_unit(code):
            town_entries.append(RegistryEntry(code, row["name"], county.code))
    kept = {t.code for t in town_entries}
    village_entries = [
        RegistryEntry(row["code"], row["name"], row["streetCode"] + "000")
        for row in _rows(villages)
        if row["streetCode"] + "000" in kept
    ]
    return Registry(
        county,
        tuple(sorted(town_entries, key=lambda e: e.code)),
        tuple(sorted(village_entries, key=lambda e: e.code)),
    )
