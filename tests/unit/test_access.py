"""Who may see and do what (incidents.access), and the masking of personal data (incidents.case)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.access import (
    ACTION_WORDS,
    CAPABILITIES,
    CASE_ACTIONS,
    CASE_MISSING,
    FIELD_UNIT_REFUSAL,
    OUTSIDE_JURISDICTION,
    Action,
    CaseRef,
    Decision,
    Grant,
    Principal,
    Role,
    case_place,
    case_ref,
    decide,
    in_scope,
    may_reveal,
    needs_masking,
    scope_prefix,
)
from incidents.case import (
    MASK,
    PHONE_SEPARATORS,
    Reporter,
    mask_address,
    mask_name,
    mask_phone,
)
from incidents.commands import Escalate, HandDown
from incidents.vocabulary import Category, Step, Tier
from tests.unit.lifecycle_fixtures import GAOCHUN, drive_to, new_case

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
COUNTY = "320118"
TOWNSHIP_A, TOWNSHIP_B = "320118101000", "320118102000"
VILLAGE_A1, VILLAGE_A2, VILLAGE_B1 = "320118101201", "320118101202", "320118102201"
GRID_A1, GRID_A1_OTHER, GRID_B1 = "320118101201-G01", "320118101201-G02", "320118102201-G01"

HOME: dict[Role, str] = {
    Role.COUNTY_DIRECTOR: COUNTY,
    Role.COUNTY_DUTY_OFFICER: COUNTY,
    Role.COUNTY_ANALYST: COUNTY,
    Role.TOWNSHIP_COORDINATOR: TOWNSHIP_A,
    Role.VILLAGE_OFFICER: VILLAGE_A1,
    Role.GRID_WORKER: GRID_A1,
    Role.FIELD_UNIT: GRID_A1,
    Role.WALL_SCREEN: COUNTY,
    Role.AUDITOR: COUNTY,
    Role.ADMINISTRATOR: COUNTY,
}

# Written out independently of CAPABILITIES, so a change to the table shows up here.
EXPECTED_ALLOWED: dict[Role, str] = {
    Role.COUNTY_DIRECTOR: "view_cases view_case act_on_case dispatch reveal_personal_data "
    "export intake_report grant_scope view_wall view_trends",
    Role.COUNTY_DUTY_OFFICER: "view_cases view_case act_on_case dispatch reveal_personal_data "
    "export intake_report view_trends",
    Role.COUNTY_ANALYST: "view_cases view_case export view_trends",
    Role.TOWNSHIP_COORDINATOR: "view_cases view_case act_on_case dispatch reveal_personal_data "
    "export intake_report view_trends",
    Role.VILLAGE_OFFICER: "view_cases view_case act_on_case intake_report",
    Role.GRID_WORKER: "view_cases view_case intake_report",
    Role.FIELD_UNIT: "",
    Role.WALL_SCREEN: "view_cases view_wall",
    Role.AUDITOR: "view_audit",
    Role.ADMINISTRATOR: "manage_users",
}
CASE_ACTION_NAMES = {
    "view_cases",
    "view_case",
    "act_on_case",
    "dispatch",
    "reveal_personal_data",
    "export",
    "intake_report",
}


def who(role: Role, jurisdiction: str | None = None, *grants: Grant) -> Principal:
    """A principal of `role` in `jurisdiction` (its usual home by default)."""
    place = HOME[role] if jurisdiction is None else jurisdiction
    return Principal(user_id=f"u-{role.value}", role=role, jurisdiction=place, grants=grants)


def ref(
    *,
    township: str | None = TOWNSHIP_A,
    village: str | None = VILLAGE_A1,
    grid: str | None = GRID_A1,
    tier: str = "village",
    org: str | None = None,
    category: str = "dispute",
) -> CaseRef:
    """A case reference placed in grid A1 and owned by its village, unless told otherwise."""
    owners = {"county": COUNTY, "township": township, "village": village}
    owner = org if org is not None else owners[tier]
    assert owner is not None
    return CaseRef(
        case_id=7,
        township_code=township,
        village_code=village,
        grid_code=grid,
        owning_tier=tier,
        owning_org=owner,
        category=category,
    )


def grant(scope: str, expires_at: datetime = NOW + timedelta(hours=8)) -> Grant:
    """A grant of `scope` by the county director."""
    return Grant(scope=scope, expires_at=expires_at, granted_by="u-director", reason="支援")


# --- scope as a code prefix -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("320118101000", "320118101"),
        ("320118", "320118"),
        ("320118000000", "320118"),
        ("320118101201", "320118101201"),
        ("320118101", "320118101"),
        ("320118101201-G01", "320118101201-G01"),
        ("320118101201-G000", "320118101201-G000"),
        ("320118100000", "320118100"),
        ("", ""),
    ],
)
def test_scope_prefix_drops_trailing_zero_groups_beyond_the_county(code: str, prefix: str) -> None:
    """County, township and village codes lose trailing 000 groups past 6 digits; grids do not."""
    assert scope_prefix(code) == prefix


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.sampled_from(["-", "-G"]))
def test_a_grid_code_is_its_own_prefix_whatever_its_number(village: str, dash: str) -> None:
    """Grids -000 and -G000 stay whole, so they never widen to a prefix of their village."""
    for number in ("000", "01", "000000"):
        grid = f"{village}{dash}{number}"
        assert scope_prefix(grid) == grid
        assert in_scope(grid, grid)
        assert not in_scope(f"{village}{dash}{number}1", grid)


def test_a_subtree_holds_its_descendants_only() -> None:
    """Codes below a scope are in it; siblings, parents and a grid's look-alikes are not."""
    assert in_scope(GRID_A1, COUNTY) and in_scope(GRID_A1, TOWNSHIP_A)
    assert in_scope(GRID_A1, VILLAGE_A1) and in_scope(GRID_A1, GRID_A1)
    assert in_scope("320118101", TOWNSHIP_A)  # a township written short
    assert not in_scope(GRID_A1, TOWNSHIP_B)
    assert not in_scope(GRID_A1, VILLAGE_A2)
    assert not in_scope(GRID_A1_OTHER, GRID_A1)
    assert not in_scope(GRID_A1 + "0", GRID_A1)  # -G010 is not inside -G01
    assert not in_scope(TOWNSHIP_A, VILLAGE_A1)
    assert not in_scope(COUNTY, TOWNSHIP_A)
    assert not in_scope(GRID_A1, "")  # an empty scope covers nothing


def test_a_case_lies_at_its_deepest_known_place_else_with_its_owner() -> None:
    """Grid, else village, else township; a case not placed below the county lies with it."""
    assert case_place(ref()) == GRID_A1
    assert case_place(ref(grid=None)) == VILLAGE_A1
    assert case_place(ref(grid=None, village=None, tier="township")) == TOWNSHIP_A
    unplaced = ref(grid=None, village=None, township=None, tier="county")
    assert case_place(unplaced) == COUNTY


def test_case_ref_takes_the_deciding_fields_of_a_case() -> None:
    """case_ref copies the place codes, the owner and the category of a real case."""
    case = new_case(owning_tier=Tier.TOWNSHIP, category=Category.DISPUTE).case
    assert case_ref(case) == CaseRef(
        case_id=42,
        township_code="320118001",
        village_code="320118001002",
        grid_code="320118001002-03",
        owning_tier="township",
        owning_org="320118001",
        category="dispute",
    )


# --- roles x actions ----------------------------------------------------------------------


def test_the_capability_table_and_its_words_cover_every_role_and_action() -> None:
    """Every role has a row in CAPABILITIES and every action words for its refusal."""
    assert set(CAPABILITIES) == set(Role)
    assert set(ACTION_WORDS) == set(Action)
    assert {a.value for a in Action} >= CASE_ACTION_NAMES


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_take_exactly_its_actions(role: Role, action: Action) -> None:
    """Role x action on a case in the role's own grid, owned by its village: the table."""
    case = ref() if action.value in CASE_ACTION_NAMES else None
    decision = decide(who(role), action, case, NOW)
    expected = action.value in EXPECTED_ALLOWED[role].split()
    assert decision.allowed is expected, decision
    if expected:
        assert decision == Decision(True)
    elif role is Role.FIELD_UNIT:
        assert decision.reason == FIELD_UNIT_REFUSAL
    else:
        assert decision.reason == f"your role may not {ACTION_WORDS[action]}"


def test_a_refused_dispatch_says_the_role_may_not() -> None:
    """A village officer asked to dispatch is refused with "your role may not dispatch"."""
    decision = decide(who(Role.VILLAGE_OFFICER), Action.DISPATCH, ref(), NOW)
    assert decision == Decision(False, "your role may not dispatch")


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("jurisdiction", [COUNTY, TOWNSHIP_A, GRID_A1])
def test_field_units_are_refused_everything_with_the_terminal_reason(
    action: Action, jurisdiction: str
) -> None:
    """Field units act through their terminal: every web action is refused, wherever they are."""
    field_unit = who(Role.FIELD_UNIT, jurisdiction, grant(COUNTY))
    for case in (ref(), None):
        assert decide(field_unit, action, case, NOW) == Decision(False, FIELD_UNIT_REFUSAL)


def test_case_actions_that_name_a_case_refuse_without_one() -> None:
    """View, act, dispatch and reveal need a case; lists, exports and intake do not."""
    director = who(Role.COUNTY_DIRECTOR)
    for action in (
        Action.VIEW_CASE,
        Action.ACT_ON_CASE,
        Action.DISPATCH,
        Action.REVEAL_PERSONAL_DATA,
    ):
        assert decide(director, action, None, NOW) == Decision(False, CASE_MISSING)
    for listing in (Action.VIEW_CASES, Action.EXPORT, Action.INTAKE_REPORT):
        assert decide(director, listing, None, NOW) == Decision(True)


def test_non_case_actions_ignore_the_case() -> None:
    """Audit, users, grants and the wall do not depend on where a case lies."""
    far = ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1)
    assert decide(who(Role.AUDITOR, VILLAGE_A1), Action.VIEW_AUDIT, far, NOW).allowed
    assert decide(who(Role.ADMINISTRATOR, VILLAGE_A1), Action.MANAGE_USERS, far, NOW).allowed


def test_a_naive_now_is_refused() -> None:
    """Time without an offset cannot be compared with grants: decide raises."""
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(who(Role.COUNTY_DIRECTOR), Action.VIEW_CASE, ref(), NOW.replace(tzinfo=None))


# --- visibility by subtree ----------------------------------------------------------------

EVERYWHERE = [
    ref(),
    ref(grid=GRID_A1_OTHER),
    ref(grid=None, village=VILLAGE_A2),
    ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1),
    ref(grid=None, village=None, tier="township"),
    ref(grid=None, village=None, township=None, tier="county"),
]


@pytest.mark.parametrize("case", EVERYWHERE)
def test_the_county_sees_and_acts_on_every_case_in_the_county(case: CaseRef) -> None:
    """A county duty officer sees, acts on and may reveal every case, wherever it is owned."""
    officer = who(Role.COUNTY_DUTY_OFFICER)
    for action in (Action.VIEW_CASE, Action.ACT_ON_CASE, Action.DISPATCH, Action.EXPORT):
        assert decide(officer, action, case, NOW) == Decision(True)
    assert may_reveal(officer, case, NOW).allowed


@pytest.mark.parametrize("action", sorted(CAPABILITIES[Role.TOWNSHIP_COORDINATOR] & CASE_ACTIONS))
def test_a_township_never_sees_another_townships_case(action: Action) -> None:
    """Township A is refused every case action on a case of township B as outside."""
    case_b = ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1)
    coordinator = who(Role.TOWNSHIP_COORDINATOR)
    assert decide(coordinator, action, case_b, NOW) == Decision(False, OUTSIDE_JURISDICTION)
    assert decide(coordinator, action, ref(), NOW).allowed


def test_a_village_sees_only_its_village() -> None:
    """A village officer sees its village's cases, not a neighbour's nor the township's own."""
    officer = who(Role.VILLAGE_OFFICER)
    assert decide(officer, Action.VIEW_CASE, ref(), NOW).allowed
    assert decide(officer, Action.VIEW_CASE, ref(grid=GRID_A1_OTHER), NOW).allowed
    for outside in (
        ref(grid=None, village=VILLAGE_A2),
        ref(grid=None, village=None, tier="township"),
        ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1),
    ):
        decision = decide(officer, Action.VIEW_CASE, outside, NOW)
        assert decision == Decision(False, OUTSIDE_JURISDICTION)


def test_a_grid_worker_sees_only_its_grid() -> None:
    """A grid worker sees cases in its grid, not the next grid's nor the village's unplaced."""
    worker = who(Role.GRID_WORKER)
    assert decide(worker, Action.VIEW_CASES, ref(), NOW).allowed
    assert decide(worker, Action.VIEW_CASE, ref(), NOW).allowed
    for outside in (ref(grid=GRID_A1_OTHER), ref(grid=None), ref(grid=GRID_A1 + "0")):
        assert decide(worker, Action.VIEW_CASE, outside, NOW).reason == OUTSIDE_JURISDICTION


def test_only_county_principals_see_a_case_placed_nowhere_below_the_county() -> None:
    """A case outside the county (or not located) lies with the county that owns it."""
    unplaced = ref(grid=None, village=None, township=None, tier="county")
    assert decide(who(Role.COUNTY_ANALYST), Action.VIEW_CASE, unplaced, NOW).allowed
    refused = decide(who(Role.TOWNSHIP_COORDINATOR), Action.VIEW_CASE, unplaced, NOW)
    assert refused.reason == OUTSIDE_JURISDICTION


# --- ownership: hand-down and escalation --------------------------------------------------


def test_a_case_handed_down_to_the_village_is_actionable_there_and_above() -> None:
    """After 交办 to the village, the village, its township and the county may all act on it."""
    driver = drive_to(new_case(owning_tier=Tier.COUNTY), Step.REPORT)
    driver.do(HandDown(actor="duty-a", reason="属地处置", to_tier=Tier.VILLAGE))
    case = case_ref(driver.case)
    for role, place in (
        (Role.VILLAGE_OFFICER, GAOCHUN.village_code),
        (Role.TOWNSHIP_COORDINATOR, GAOCHUN.township_code),
        (Role.COUNTY_DUTY_OFFICER, GAOCHUN.county_code),
    ):
        assert decide(who(role, place), Action.ACT_ON_CASE, case, NOW) == Decision(True), role


def test_a_case_escalated_to_the_county_stays_visible_but_not_actionable_below() -> None:
    """After 上报 to the county, the township still sees the case but may only view it."""
    driver = drive_to(new_case(owning_tier=Tier.TOWNSHIP), Step.REPORT)
    township = who(Role.TOWNSHIP_COORDINATOR, GAOCHUN.township_code)
    before = case_ref(driver.case)
    assert decide(township, Action.DISPATCH, before, NOW).allowed
    driver.do(Escalate(actor="duty-a", reason="涉及多部门", to_tier=Tier.COUNTY))
    after = case_ref(driver.case)
    assert decide(township, Action.VIEW_CASE, after, NOW).allowed
    assert decide(township, Action.EXPORT, after, NOW).allowed
    owned = Decision(False, "the case is owned by the county: you may only view it")
    for action in (Action.ACT_ON_CASE, Action.DISPATCH, Action.REVEAL_PERSONAL_DATA):
        assert decide(township, action, after, NOW) == owned
    assert decide(who(Role.COUNTY_DUTY_OFFICER), Action.DISPATCH, after, NOW).allowed


def test_a_village_may_only_view_a_case_its_township_owns() -> None:
    """A case in the village owned by the township is visible to the village, not actionable."""
    case = ref(tier="township")
    officer = who(Role.VILLAGE_OFFICER)
    assert decide(officer, Action.VIEW_CASE, case, NOW).allowed
    assert decide(officer, Action.ACT_ON_CASE, case, NOW) == Decision(
        False, "the case is owned by the township: you may only view it"
    )


# --- grants ------------------------------------------------------------------------------


def test_a_grant_widens_sight_and_action_to_its_subtree() -> None:
    """Township A with a grant of township B sees and acts on B's cases, and says so."""
    case_b = ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1, tier="township")
    coordinator = who(Role.TOWNSHIP_COORDINATOR, TOWNSHIP_A, grant(TOWNSHIP_B))
    for action in (Action.VIEW_CASE, Action.DISPATCH, Action.REVEAL_PERSONAL_DATA):
        decision = decide(coordinator, action, case_b, NOW)
        assert decision == Decision(True, f"through the grant of {TOWNSHIP_B} by u-director")
    assert decide(coordinator, Action.VIEW_CASE, ref(), NOW) == Decision(True)


def test_a_grant_widens_scope_but_not_the_role() -> None:
    """A grid worker granted the whole township sees it all but still may not act."""
    worker = who(Role.GRID_WORKER, GRID_A1, grant(TOWNSHIP_A))
    assert decide(worker, Action.VIEW_CASE, ref(grid=GRID_A1_OTHER), NOW).allowed
    decision = decide(worker, Action.ACT_ON_CASE, ref(), NOW)
    assert decision == Decision(False, "your role may not act on cases")


def test_a_grant_of_a_village_does_not_reach_its_siblings() -> None:
    """A grant of village B1 shows B1's cases only, not the rest of township B."""
    officer = who(Role.VILLAGE_OFFICER, VILLAGE_A1, grant(VILLAGE_B1))
    in_b1 = ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=None)
    assert decide(officer, Action.VIEW_CASE, in_b1, NOW).allowed
    sibling = ref(township=TOWNSHIP_B, village="320118102202", grid=None)
    assert decide(officer, Action.VIEW_CASE, sibling, NOW).reason == OUTSIDE_JURISDICTION


def test_a_grant_expires_exactly_at_expires_at() -> None:
    """Allowed one microsecond before expires_at, refused at it and after."""
    expires = NOW + timedelta(hours=2)
    coordinator = who(Role.TOWNSHIP_COORDINATOR, TOWNSHIP_A, grant(TOWNSHIP_B, expires))
    case_b = ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1, tier="township")
    before = expires - timedelta(microseconds=1)
    assert decide(coordinator, Action.ACT_ON_CASE, case_b, before).allowed
    for at in (expires, expires + timedelta(microseconds=1)):
        decision = decide(coordinator, Action.ACT_ON_CASE, case_b, at)
        assert decision == Decision(False, OUTSIDE_JURISDICTION)


def test_an_expired_grant_among_active_ones_does_not_count() -> None:
    """Only the grants active at `now` widen the scope."""
    coordinator = who(
        Role.TOWNSHIP_COORDINATOR,
        TOWNSHIP_A,
        grant(TOWNSHIP_B, NOW - timedelta(minutes=1)),
        grant(VILLAGE_B1, NOW + timedelta(minutes=1)),
    )
    in_b1 = ref(township=TOWNSHIP_B, village=VILLAGE_B1, grid=GRID_B1)
    elsewhere_in_b = ref(township=TOWNSHIP_B, village="320118102202", grid=None)
    assert decide(coordinator, Action.VIEW_CASE, in_b1, NOW).allowed
    assert not decide(coordinator, Action.VIEW_CASE, elsewhere_in_b, NOW).allowed


def test_a_grant_refuses_a_naive_expiry_and_round_trips_as_json() -> None:
    """Grants must expire at an aware time; principals encode and decode unchanged."""
    with pytest.raises(ValueError, match="timezone-aware"):
        grant(TOWNSHIP_B, NOW.replace(tzinfo=None))
    principal = who(Role.TOWNSHIP_COORDINATOR, TOWNSHIP_A, grant(TOWNSHIP_B))
    assert msgspec.json.decode(msgspec.json.encode(principal), type=Principal) == principal
    naive = msgspec.json.encode(principal).replace(b"+00:00", b"").replace(b"Z", b"")
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(naive, type=Principal)


# --- revealing and masking ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.WALL_SCREEN, Role.COUNTY_ANALYST])
def test_wall_screens_and_analysts_never_may_reveal(role: Role) -> None:
    """Even on a county case, with a grant of the whole county, they may not reveal."""
    principal = who(role, COUNTY, grant(COUNTY))
    for case in EVERYWHERE:
        decision = may_reveal(principal, case, NOW)
        assert decision == Decision(False, "your role may not reveal personal data")
        assert needs_masking(principal, case, NOW, revealed=True)


def test_revealing_needs_the_case_to_be_actionable() -> None:
    """A township may reveal on its own case, not on one escalated to the county."""
    coordinator = who(Role.TOWNSHIP_COORDINATOR)
    assert may_reveal(coordinator, ref(tier="township"), NOW).allowed
    assert not may_reveal(coordinator, ref(tier="county"), NOW).allowed


def test_personal_data_is_masked_unless_revealed_by_one_who_may() -> None:
    """Views always mask; only an explicit reveal by an allowed principal unmasks."""
    officer = who(Role.COUNTY_DUTY_OFFICER)
    assert needs_masking(officer, ref(), NOW)
    assert not needs_masking(officer, ref(), NOW, revealed=True)
    assert needs_masking(who(Role.GRID_WORKER), ref(), NOW, revealed=True)


def test_the_reporter_masks_as_before() -> None:
    """王先生 / 13951234567 still shows as 王** / 139****4567."""
    reporter = Reporter(name="王先生", phone="13951234567")
    assert reporter.masked() == Reporter(name="王**", phone="139****4567")
    assert Reporter().masked() == Reporter()


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        (None, None),
        ("", ""),
        ("王", "*"),
        ("王五", "王*"),
        ("王先生", "王**"),
        ("欧阳娜娜", "欧***"),  # compound surnames are not special-cased
        ("John Smith", "J*********"),
        ("  王先生 ", "王**"),
        ("   ", "*"),
        ("\u0301abc", "****"),  # a leading combining mark is not a letter to keep
        ("\u202eabc", "****"),  # nor is a right-to-left override
        ("😀😀", "**"),
        ("\ud800x", "**"),  # a lone surrogate never survives
    ],
)
def test_mask_name_keeps_only_a_leading_letter(name: str | None, masked: str | None) -> None:
    """The first letter (the family name) stays; everything else is one * per character."""
    assert mask_name(name) == masked


# Every code point, lone surrogates and combining marks included, and name-like text.
ANY_CODE_POINT = st.one_of(st.characters(), st.characters(categories=["Cs", "Mn", "Cf", "Cc"]))
NAME_LIKE = st.one_of(st.characters(categories=["Lo", "Lu", "Ll"]), st.sampled_from(" ·*"))


def assert_masked_name(name: str) -> None:
    """The properties every masked name has."""
    masked = mask_name(name)
    assert masked is not None
    trimmed = name.strip()
    if not name:
        assert masked == ""
        return
    assert len(masked) == max(1, len(trimmed))
    assert set(masked[1:]) <= {MASK}
    if len(trimmed) > 1:
        assert masked[0] in (trimmed[0], MASK)
        assert masked[0] == MASK or unicodedata.category(masked[0]).startswith("L")
    else:
        assert masked == MASK
    # Nothing but an already masked name (a letter then stars) comes back unchanged.
    if len(name) > 1 and set(name[1:]) != {MASK}:
        assert masked != name
    masked.encode("utf-8")  # never a surrogate or anything else unprintable in JSON


@pytest.mark.parametrize("length", range(41))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mask_name_hides_all_but_one_letter_at_every_length(
    length: int, data: st.DataObject
) -> None:
    """For any Unicode text of each length 0..40, only the first letter can survive."""
    sized = {"min_size": length, "max_size": length}
    assert_masked_name(data.draw(st.text(**sized)))
    assert_masked_name(data.draw(st.text(ANY_CODE_POINT, **sized)))
    assert_masked_name(data.draw(st.text(NAME_LIKE, **sized)))


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        (None, None),
        ("", ""),
        ("13951234567", "139****4567"),
        ("139-5123-4567", "139-****-4567"),
        ("139 5123 4567", "139 **** 4567"),
        ("+86 13951234567", "+** 139****4567"),
        ("+8613951234567", "+**139****4567"),
        ("008613951234567", "****139****4567"),
        ("8613951234567", "**139****4567"),
        ("025-12345678", "025-******78"),
        ("(025) 12345678", "(025) ******78"),
        ("010-12345678", "010-******78"),
        ("0571-87654321", "0571-******21"),
        ("0571-8765432", "0571-******2"),
        ("+86 25 12345678", "+** 25 ******78"),
        ("+1 415 555 0100", "+1 *** *** 0100"),  # not Chinese: half at most, the end first
        ("1234567", "****567"),
        ("110", "***"),
        ("123456", "******"),
        ("139x5123y4567", "139******4567"),  # other characters are masked too
        ("tel:12345678", "********5678"),
        ("１３９５１２３４５６７", "***********"),  # full-width digits are masked like letters
    ],
)
def test_mask_phone_shows_only_the_customary_digits(phone: str | None, masked: str | None) -> None:
    """Mobiles 139****4567, landlines area code and last 2, others last 4, short ones nothing."""
    assert mask_phone(phone) == masked


def digits_of(text: str) -> str:
    """The ASCII digits of `text`, in order."""
    return "".join(char for char in text if char in "0123456789")


def is_mobile_shape(digits: str) -> bool:
    """A mainland mobile, possibly after China's country code."""
    for code in ("", "86", "0086"):
        national = digits[len(code) :] if digits.startswith(code) else ""
        if len(national) == 11 and national[0] == "1" and national[1] in "3456789":
            return True
    return False


def assert_masked_phone(phone: str) -> None:
    """The properties every masked phone has."""
    masked = mask_phone(phone)
    assert masked is not None
    assert len(masked) == len(phone)
    shown = 0
    for original, out in zip(phone, masked, strict=True):
        if original in PHONE_SEPARATORS:
            assert out == original
        elif original in "0123456789":
            assert out in (original, MASK)
            shown += out == original
        else:
            assert out == MASK
    count = len(digits_of(phone))
    assert shown <= 7
    assert shown <= count // 2 or (shown == 7 and is_mobile_shape(digits_of(phone)))
    if count < 7:
        assert shown == 0
    if set(phone) - PHONE_SEPARATORS - {MASK}:
        assert masked != phone


PHONE_ALPHABET = "0123456789+- ()"
PREFIXES = st.sampled_from(["", "+86", "+86 ", "0086", "86", "+86-", "(+86) ", "+1 ", "0"])


@pytest.mark.parametrize("length", range(41))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mask_phone_never_shows_more_than_it_may_at_every_length(
    length: int, data: st.DataObject
) -> None:
    """For each length 0..40, random text, digits with separators and +86 numbers stay masked."""
    sized = {"min_size": length, "max_size": length}
    assert_masked_phone(data.draw(st.text(**sized)))
    assert_masked_phone(data.draw(st.text(PHONE_ALPHABET, **sized)))
    assert_masked_phone(data.draw(st.text("0123456789", **sized)))
    prefix = data.draw(PREFIXES)
    size = max(0, length - len(prefix))
    assert_masked_phone(prefix + data.draw(st.text("0123456789 -", min_size=size, max_size=size)))


MASKED_CODES = {"": "", "+86 ": "+** ", "0086": "****", "86": "**", "(+86)": "(+**)"}


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"), st.sampled_from(sorted(MASKED_CODES)))
def test_every_mainland_mobile_shows_its_first_three_and_last_four(mobile: str, code: str) -> None:
    """Any 1[3-9]xxxxxxxxx mobile masks to its 3 + **** + 4, the country code masked."""
    masked = mask_phone(code + mobile)
    assert masked == MASKED_CODES[code] + mobile[:3] + "****" + mobile[-4:]


@pytest.mark.parametrize("category", ["petition", "special_population", "dispute"])
def test_sensitive_addresses_keep_only_the_area(category: str) -> None:
    """Petition, special-population and dispute addresses show 6 characters then ***."""
    assert mask_address("南京市高淳区淳溪街道宝塔路18号3幢", category) == "南京市高淳区***"
    assert mask_address("淳溪街道 高淳老街东段", category) == "淳溪街道 ***"  # at most half
    assert mask_address("老街", category) == "老***"
    assert mask_address("东", category) == "***"
    assert mask_address(None, category) is None
    assert mask_address("", category) == ""
    assert mask_address("南京市高淳区淳溪街道", Category(category)) == "南京市高淳***"


@pytest.mark.parametrize("category", ["fire", "traffic", "public_security", "other"])
def test_other_addresses_are_shown_as_given(category: str) -> None:
    """A fire or a crash must be found: its address is not masked."""
    assert mask_address("淳溪街道 高淳老街东段", category) == "淳溪街道 高淳老街东段"
    assert mask_address(None, category) is None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["petition", "special_population", "dispute"]))
def test_a_sensitive_address_never_shows_more_than_six_characters_or_half(
    address: str, category: str
) -> None:
    """The masked address is a prefix of at most min(6, half) characters, then ***."""
    masked = mask_address(address, category)
    assert masked is not None
    if not address:
        assert masked == ""
        return
    assert masked.endswith("***")
    assert masked != address or address.endswith("***")  # only an already masked one
    kept = masked[:-3]
    assert address.startswith(kept)
    assert len(kept) <= min(6, len(address) // 2)
