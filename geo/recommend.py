"""Unit recommendation: the top k available units for a case, by road travel time.

Ranking, in order: available units before those that are not (left out unless asked for,
and then flagged with their status); units whose position is fresh before stale ones (a
stale position is never trusted silently: it is ranked down and its reason says how old it
is); then the estimated arrival time, with units from another township paying a fixed
handicap so the case's own jurisdiction is preferred when it is nearly as quick; then id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from geo.routing import Router, TravelMode


class Capability(StrEnum):
    """What a unit can handle."""

    POLICE = "police"
    TRAFFIC = "traffic"
    MEDIATION = "mediation"
    FIRE = "fire"
    MEDICAL = "medical"
    HAZMAT = "hazmat"
    RESCUE = "rescue"
    SAFETY_INSPECTION = "safety_inspection"
    SOCIAL_WORK = "social_work"
    GRID = "grid"


# The intake contract's categories (fixed, ARCHITECTURE §3) -> a unit qualifies if it has
# any one of these capabilities.
CATEGORY_CAPABILITIES: Mapping[str, frozenset[Capability]] = {
    "dispute": frozenset({Capability.MEDIATION}),
    "public_security": frozenset({Capability.POLICE}),
    "petition": frozenset({Capability.MEDIATION, Capability.SOCIAL_WORK}),
    "safety_production": frozenset({Capability.SAFETY_INSPECTION, Capability.HAZMAT}),
    "fire": frozenset({Capability.FIRE}),
    "traffic": frozenset({Capability.TRAFFIC, Capability.POLICE}),
    "mass_incident": frozenset({Capability.POLICE}),
    "emergency": frozenset({Capability.RESCUE, Capability.MEDICAL, Capability.FIRE}),
    "public_service": frozenset({Capability.GRID, Capability.SOCIAL_WORK}),
    "special_population": frozenset({Capability.SOCIAL_WORK, Capability.POLICE, Capability.GRID}),
    "other": frozenset({Capability.GRID}),
}

DEFAULT_STALE_AFTER = timedelta(minutes=5)
DEFAULT_OTHER_TOWNSHIP_PENALTY_S = 180.0


@dataclass(frozen=True, slots=True)
class UnitPosition:
    """A unit as recommendation sees it: where it was last seen, when, and what it can do."""

    unit_id: str
    name: str
    mode: TravelMode
    capabilities: frozenset[Capability]
    lon: float
    lat: float
    seen_at: datetime
    available: bool = True
    township_code: str | None = None
    status: str = "available"  # the force's own status word, shown when it is not available


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommended unit with its estimate and the reason shown to the duty officer."""

    unit_id: str
    name: str
    eta_s: float
    road_km: float
    stale: bool
    same_township: bool
    reason: str
    available: bool = True


def required_capabilities(category: str) -> frozenset[Capability]:
    """Capabilities that qualify a unit for a case category (unknown: any unit)."""
    return CATEGORY_CAPABILITIES.get(category, frozenset())


def reason_zh(
    km: float,
    eta_s: float,
    same_township: bool | None,
    stale_for: timedelta | None,
    busy_status: str | None = None,
) -> str:
    """The zh-CN reason line, e.g. '3.2 公里，约 6 分钟，同乡镇' (None: township unknown)."""
    minutes = max(1, round(eta_s / 60))
    parts = [f"{km:.1f} 公里", f"约 {minutes} 分钟"]
    if same_township is not None:
        parts.append("同乡镇" if same_township else "跨乡镇")
    if stale_for is not None:
        parts.append(f"位置已 {int(stale_for.total_seconds() // 60)} 分钟未更新")
    if busy_status is not None:
        parts.append(f"非空闲（{busy_status}），需说明理由")
    return "，".join(parts)


def recommend(
    router: Router,
    case_lon: float,
    case_lat: float,
    units: Sequence[UnitPosition],
    now: datetime,
    *,
    category: str | None = None,
    case_township_code: str | None = None,
    k: int = 5,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    other_township_penalty_s: float = DEFAULT_OTHER_TOWNSHIP_PENALTY_S,
    include_unavailable: bool = False,
) -> list[Recommendation]:
    """The top k capable units for a case at (lon, lat), best first.

    Units that are not available are left out, or with `include_unavailable` ranked after
    every available one and flagged (dispatching one needs an override reason).
    """
    needed = required_capabilities(category) if category else frozenset()
    eligible = [
        u
        for u in units
        if (u.available or include_unavailable)
        and (not needed or not u.capabilities.isdisjoint(needed))
    ]
    if not eligible or k <= 0:
        return []
    target = router.snap(np.array([case_lon]), np.array([case_lat]))
    everyone = router.snap(
        np.fromiter((u.lon for u in eligible), float, len(eligible)),
        np.fromiter((u.lat for u in eligible), float, len(eligible)),
    )
    modes = np.array([u.mode.value for u in eligible])
    eta = np.empty(len(eligible))
    km = np.empty(len(eligible))
    for mode in TravelMode:
        idx = np.flatnonzero(modes == mode.value)
        if len(idx):
            seconds, road_km, off_km = router.times_to(everyone.subset(idx), target, mode)
            eta[idx] = seconds
            km[idx] = road_km + off_km
    oldest_fresh = now - stale_after
    stale = np.fromiter((u.seen_at < oldest_fresh for u in eligible), bool, len(eligible))
    same = np.fromiter(
        (
            case_township_code is not None and u.township_code == case_township_code
            for u in eligible
        ),
        bool,
        len(eligible),
    )
    score = eta + np.where(same | (case_township_code is None), 0.0, other_township_penalty_s)
    busy = np.fromiter((not u.available for u in eligible), bool, len(eligible))
    # Stale units sort after every fresh one, busy ones after every available one; only the
    # k best keys (and ties) need a full sort.
    key = score + np.where(stale, 1e12, 0.0) + np.where(busy, 1e13, 0.0)
    kth = min(k, len(key)) - 1
    threshold = np.partition(key, kth)[kth]
    shortlist = np.flatnonzero(key <= threshold).tolist()
    order = sorted(shortlist, key=lambda i: (float(key[i]), eligible[i].unit_id))
    picks = []
    for i in order[:k]:
        unit = eligible[i]
        age = now - unit.seen_at if stale[i] else None
        picks.append(
            Recommendation(
                unit.unit_id,
                unit.name,
                float(eta[i]),
                float(km[i]),
                bool(stale[i]),
                bool(same[i]),
                reason_zh(
                    float(km[i]),
                    float(eta[i]),
                    _same_or_unknown(same[i], case_township_code),
                    age,
                    unit.status if busy[i] else None,
                ),
                not bool(busy[i]),
            )
        )
    return picks


def _same_or_unknown(same: object, case_township_code: str | None) -> bool | None:
    return bool(same) if case_township_code is not None else None
