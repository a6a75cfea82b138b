"""Resolution level: the tier that resolved each archived case, and the share solved low down."""

from __future__ import annotations

from incidents.case import Case, Satisfaction
from incidents.commands import Escalate, EvaluateAndArchive, HandDown, Reject
from incidents.resolution import (
    resolution_share,
    resolution_tier,
    resolved_by_tier,
    share_resolved_at_township_or_below,
)
from incidents.vocabulary import Category, Step, Tier
from tests.unit.lifecycle_fixtures import drive_to, new_case


def archived(case_id: int, tier: Tier, category: Category = Category.DISPUTE) -> Case:
    """A case opened at `tier`, handled and archived there."""
    driver = drive_to(new_case(case_id=case_id, owning_tier=tier, category=category), Step.ARCHIVE)
    driver.do(EvaluateAndArchive(actor="duty-a", satisfaction=Satisfaction.SATISFIED))
    return driver.case


def test_the_resolving_tier_is_the_owner_at_verification() -> None:
    """A county case handed down to a village and solved there counts for the village."""
    driver = drive_to(new_case(owning_tier=Tier.COUNTY), Step.REPORT)
    driver.do(HandDown(actor="duty-a", reason="属地调解", to_tier=Tier.VILLAGE))
    drive_to(driver, Step.ARCHIVE)
    driver.do(EvaluateAndArchive(actor="duty-a", satisfaction=Satisfaction.SATISFIED))
    assert resolution_tier(driver.case) is Tier.VILLAGE


def test_an_escalated_case_counts_for_the_tier_it_went_up_to() -> None:
    """A township case escalated to the county is resolved by the county."""
    driver = drive_to(new_case(owning_tier=Tier.TOWNSHIP), Step.FEEDBACK)
    driver.do(Escalate(actor="duty-a", reason="涉及多部门"))
    drive_to(driver, Step.ARCHIVE)
    driver.do(EvaluateAndArchive(actor="duty-a", satisfaction=None, reason="无法联系"))
    assert resolution_tier(driver.case) is Tier.COUNTY


def test_only_archived_cases_have_a_resolving_tier() -> None:
    """Open, verified-but-not-evaluated and rejected cases are not counted."""
    verified = drive_to(new_case(case_id=1), Step.ARCHIVE).case
    rejected = new_case(case_id=2)
    rejected.do(Reject(actor="duty-a", reason="x"))
    assert resolution_tier(verified) is None
    assert resolution_tier(rejected.case) is None
    assert resolution_share([verified, rejected.case]).share is None


def test_share_resolved_at_township_level_or_below() -> None:
    """19 of 20 archived cases solved at township or village: 95%, as the seed reports."""
    cases = [archived(i, Tier.TOWNSHIP if i % 2 else Tier.VILLAGE) for i in range(1, 20)]
    cases.append(archived(20, Tier.COUNTY))
    cases.append(drive_to(new_case(case_id=21), Step.FEEDBACK).case)
    share = resolution_share(cases)
    assert (share.archived, share.resolved_at_or_below) == (20, 19)
    assert share_resolved_at_township_or_below(cases) == 0.95
    assert resolution_share(cases, Tier.VILLAGE).resolved_at_or_below == 9
    assert resolution_share(cases, Tier.COUNTY).share == 1.0
    assert dict(resolved_by_tier(cases)) == {
        Tier.COUNTY: 1,
        Tier.TOWNSHIP: 10,
        Tier.VILLAGE: 9,
        Tier.GRID: 0,
    }


def test_the_share_can_be_taken_for_one_category() -> None:
    """Disputes alone, as the seed's 95% figure is about disputes."""
    cases = [
        archived(1, Tier.VILLAGE, Category.DISPUTE),
        archived(2, Tier.COUNTY, Category.FIRE),
    ]
    assert share_resolved_at_township_or_below(cases, Category.DISPUTE) == 1.0
    assert share_resolved_at_township_or_below(cases, Category.FIRE) == 0.0
    assert share_resolved_at_township_or_below(cases) == 0.5
