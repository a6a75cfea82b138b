"""Resolution level: the tier that resolved each archived case, and the share solved low down.

The seed reports "95% of disputes resolved at township level or below"; this makes that a
number. A case is resolved by the tier that owned it when its verification passed (after any
escalation or hand-down), recorded in `case.verified` and kept in the archive closure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from incidents.case import TIER_ORDER, Case, CaseStatus, tier_rank
from incidents.vocabulary import Category, Tier


def resolution_tier(case: Case) -> Tier | None:
    """The tier that resolved an archived case; None for any other case."""
    if case.status is not CaseStatus.ARCHIVED or case.closure is None:
        return None
    return case.closure.resolution_tier


@dataclass(frozen=True, slots=True)
class ResolutionShare:
    """How many archived cases were resolved at `tier` or below, out of all archived ones."""

    tier: Tier
    archived: int
    resolved_at_or_below: int

    @property
    def share(self) -> float | None:
        """The fraction, or None when nothing is archived yet."""
        return self.resolved_at_or_below / self.archived if self.archived else None


def resolution_share(
    cases: Iterable[Case], at_or_below: Tier = Tier.TOWNSHIP, category: Category | None = None
) -> ResolutionShare:
    """The share of archived cases (of one category, if given) resolved at a tier or lower."""
    archived = 0
    low = 0
    limit = tier_rank(at_or_below)
    for case in cases:
        tier = resolution_tier(case)
        if tier is None or (category is not None and case.category is not category):
            continue
        archived += 1
        low += tier_rank(tier) >= limit
    return ResolutionShare(tier=at_or_below, archived=archived, resolved_at_or_below=low)


def share_resolved_at_township_or_below(
    cases: Iterable[Case], category: Category | None = None
) -> float | None:
    """The headline figure: share of archived cases resolved at township level or below."""
    return resolution_share(cases, Tier.TOWNSHIP, category).share


def resolved_by_tier(cases: Iterable[Case]) -> Mapping[Tier, int]:
    """Archived cases counted by resolving tier, county first."""
    counts = dict.fromkeys(TIER_ORDER, 0)
    for case in cases:
        tier = resolution_tier(case)
        if tier is not None:
            counts[tier] += 1
    return MappingProxyType(counts)
