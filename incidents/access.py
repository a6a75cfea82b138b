"""Who may see and do what: roles, principals, scope grants and the one access rule, `decide`.

Pure: no I/O and no clock reads (`now` is passed in). A decision checks, in this order, the
role's capabilities (one table, `CAPABILITIES`), whether the case is visible (its place lies
in the principal's subtree or in an active grant's) and, for acting on it, whether it is
actionable (its owning org lies there too). Personal data is masked by the functions of
`incidents.case` (`mask_name`, `mask_phone`, `mask_address`); revealing it is `may_reveal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

import msgspec

from incidents.case import Case
from incidents.vocabulary import Moment


class Role(StrEnum):
    """What a user is in the command centre; decides which actions they may take."""

    COUNTY_DIRECTOR = "county_director"  # 指挥中心主任
    COUNTY_DUTY_OFFICER = "county_duty_officer"  # 值班长, 值班员
    COUNTY_ANALYST = "county_analyst"  # 研判分析
    TOWNSHIP_COORDINATOR = "township_coordinator"  # 乡镇(街道)综治中心
    VILLAGE_OFFICER = "village_officer"  # 村(社区)
    GRID_WORKER = "grid_worker"  # 网格员
    FIELD_UNIT = "field_unit"  # 处置力量, on its terminal
    WALL_SCREEN = "wall_screen"  # 大屏
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


class Action(StrEnum):
    """What a principal asks to do; the case actions name the case they act on."""

    VIEW_CASES = "view_cases"  # a list or map of cases
    VIEW_CASE = "view_case"  # one case's detail
    ACT_ON_CASE = "act_on_case"  # any lifecycle command
    DISPATCH = "dispatch"
    REVEAL_PERSONAL_DATA = "reveal_personal_data"
    EXPORT = "export"
    INTAKE_REPORT = "intake_report"  # the manual intake form
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    GRANT_SCOPE = "grant_scope"
    VIEW_WALL = "view_wall"
    VIEW_TRENDS = "view_trends"  # the director's trends page (态势研判): figures, no cases


# The actions that concern cases; the others (audit, users, grants, the wall) ignore the case.
CASE_ACTIONS = frozenset(
    {
        Action.VIEW_CASES,
        Action.VIEW_CASE,
        Action.ACT_ON_CASE,
        Action.DISPATCH,
        Action.REVEAL_PERSONAL_DATA,
        Action.EXPORT,
        Action.INTAKE_REPORT,
    }
)
# Without a case these make no sense; the rest, asked without one, are limited by the query
# or the form to the principal's scope.
NEEDS_CASE = frozenset(
    {Action.VIEW_CASE, Action.ACT_ON_CASE, Action.DISPATCH, Action.REVEAL_PERSONAL_DATA}
)
# Seeing a case is not enough for these: the principal's side must own it.
NEEDS_OWNERSHIP = frozenset({Action.ACT_ON_CASE, Action.DISPATCH, Action.REVEAL_PERSONAL_DATA})

_VIEW = (Action.VIEW_CASES, Action.VIEW_CASE)
_HANDLE = (*_VIEW, Action.ACT_ON_CASE, Action.DISPATCH, Action.REVEAL_PERSONAL_DATA)
_HANDLE_ALL = (*_HANDLE, Action.EXPORT, Action.INTAKE_REPORT)

# The one table of what each role may do; where it may do it is the principal's scope.
CAPABILITIES: Mapping[Role, frozenset[Action]] = MappingProxyType(
    {
        Role.COUNTY_DIRECTOR: frozenset(
            {*CASE_ACTIONS, Action.GRANT_SCOPE, Action.VIEW_WALL, Action.VIEW_TRENDS}
        ),
        Role.COUNTY_DUTY_OFFICER: frozenset({*_HANDLE_ALL, Action.VIEW_TRENDS}),
        # Exports of an analyst are masked: the role may never reveal.
        Role.COUNTY_ANALYST: frozenset({*_VIEW, Action.EXPORT, Action.VIEW_TRENDS}),
        Role.TOWNSHIP_COORDINATOR: frozenset({*_HANDLE_ALL, Action.VIEW_TRENDS}),
        # Village officers report feedback and verify, but do not dispatch.
        Role.VILLAGE_OFFICER: frozenset({*_VIEW, Action.ACT_ON_CASE, Action.INTAKE_REPORT}),
        Role.GRID_WORKER: frozenset({*_VIEW, Action.INTAKE_REPORT}),
        # Terminals act through their own protocol (realtime.field_terminals), never the web.
        Role.FIELD_UNIT: frozenset(),
        # A shared screen in a public room: never personal data.
        Role.WALL_SCREEN: frozenset({Action.VIEW_CASES, Action.VIEW_WALL}),
        Role.AUDITOR: frozenset({Action.VIEW_AUDIT}),
        Role.ADMINISTRATOR: frozenset({Action.MANAGE_USERS}),
    }
)

# How a refusal names the action: "your role may not <words>".
ACTION_WORDS: Mapping[Action, str] = MappingProxyType(
    {
        Action.VIEW_CASES: "view cases",
        Action.VIEW_CASE: "view a case",
        Action.ACT_ON_CASE: "act on cases",
        Action.DISPATCH: "dispatch",
        Action.REVEAL_PERSONAL_DATA: "reveal personal data",
        Action.EXPORT: "export",
        Action.INTAKE_REPORT: "take in reports",
        Action.VIEW_AUDIT: "view the audit log",
        Action.MANAGE_USERS: "manage users",
        Action.GRANT_SCOPE: "grant scope",
        Action.VIEW_WALL: "view the wall screen",
        Action.VIEW_TRENDS: "view the trends",
    }
)

OUTSIDE_JURISDICTION = "outside your jurisdiction"
FIELD_UNIT_REFUSAL = "field units act through their terminal"
CASE_MISSING = "this action needs a case"
COUNTY_PREFIX_LENGTH = 6


class Grant(msgspec.Struct, frozen=True, gc=False):
    """A widening of a user's scope to another subtree until it expires (the director grants)."""

    scope: str  # a jurisdiction code
    expires_at: Moment
    granted_by: str
    reason: str

    def __post_init__(self) -> None:
        """Refuse a naive expiry: it could not be compared with `now`."""
        if self.expires_at.utcoffset() is None:
            raise ValueError("a grant's expires_at must be timezone-aware")

    def is_active(self, now: datetime) -> bool:
        """Whether the grant counts at `now`: up to, not including, its expiry."""
        return now < self.expires_at


class Principal(msgspec.Struct, frozen=True, gc=False):
    """Who asks: a user, their role, their own jurisdiction and any grants beyond it."""

    user_id: str
    role: Role
    jurisdiction: str  # county 320118, township 320118101000, village, grid 320118101201-G01
    grants: tuple[Grant, ...] = ()


class CaseRef(msgspec.Struct, frozen=True, gc=False):
    """The few fields of a case that decide who may see and act on it."""

    case_id: int
    township_code: str | None
    village_code: str | None
    grid_code: str | None
    owning_tier: str
    owning_org: str
    category: str


class Decision(msgspec.Struct, frozen=True, gc=False):
    """Whether an action is allowed, and why not (or through which grant) in short English."""

    allowed: bool
    reason: str = ""


def scope_prefix(code: str) -> str:
    """A jurisdiction code as a prefix of its descendants' codes (320118101000 → 320118101)."""
    # The same rule as realtime.live_protocol.scope_prefix, except that a grid code always
    # stays whole: a grid numbered -000 or -G000 must not turn into a prefix of its village.
    if is_grid_code(code):
        return code
    trimmed = code
    while len(trimmed) > COUNTY_PREFIX_LENGTH and trimmed.endswith("000"):
        trimmed = trimmed[:-3]
    return trimmed


def is_grid_code(code: str) -> bool:
    """Whether a jurisdiction code names a grid (320118101201-G01), the tree's leaves."""
    return not code.isdecimal()


def in_scope(code: str, scope: str) -> bool:
    """Whether the node `code` lies in the subtree of the jurisdiction `scope`."""
    prefix = scope_prefix(scope)
    if not prefix:
        return False  # an empty scope would be a prefix of everything
    if is_grid_code(prefix):
        # A grid has no descendants; a prefix match would take grid -G01 for -G010.
        return code == prefix
    return code.startswith(prefix)


def case_ref(case: Case) -> CaseRef:
    """The access-deciding fields of a case."""
    place = case.jurisdiction
    return CaseRef(
        case_id=case.case_id,
        township_code=place.township_code,
        village_code=place.village_code,
        grid_code=place.grid_code,
        owning_tier=case.owning_tier.value,
        owning_org=case.owning_org,
        category=case.category.value,
    )


def case_place(case: CaseRef) -> str:
    """Where a case lies: its grid, else village, else township code, else its owning org."""
    # A case not placed below the county (outside it, or not located) lies with its owner,
    # the county, so only county-level principals see it.
    return case.grid_code or case.village_code or case.township_code or case.owning_org


def active_grants(principal: Principal, now: datetime) -> tuple[Grant, ...]:
    """The principal's grants that count at `now`."""
    return tuple(grant for grant in principal.grants if grant.is_active(now))


def _cover(code: str, principal: Principal, grants: tuple[Grant, ...]) -> tuple[bool, Grant | None]:
    """Whether `code` is in the principal's scope, and the grant it took if not their own."""
    if in_scope(code, principal.jurisdiction):
        return True, None
    for grant in grants:
        if in_scope(code, grant.scope):
            return True, grant
    return False, None


def decide(principal: Principal, action: Action, case: CaseRef | None, now: datetime) -> Decision:
    """The one access rule: may `principal` take `action` on `case` (or without one) at `now`."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if principal.role is Role.FIELD_UNIT:
        return Decision(False, FIELD_UNIT_REFUSAL)
    if action not in CAPABILITIES[principal.role]:
        return Decision(False, f"your role may not {ACTION_WORDS[action]}")
    if action not in CASE_ACTIONS:
        return Decision(True)
    if case is None:
        return Decision(False, CASE_MISSING) if action in NEEDS_CASE else Decision(True)
    grants = active_grants(principal, now)
    visible, grant = _cover(case_place(case), principal, grants)
    if not visible:
        return Decision(False, OUTSIDE_JURISDICTION)
    if action in NEEDS_OWNERSHIP:
        actionable, owner_grant = _cover(case.owning_org, principal, grants)
        if not actionable:
            return Decision(False, owned_elsewhere(case.owning_tier))
        grant = owner_grant or grant
    if grant is not None:
        # The audit record should say which grant the decision leaned on.
        return Decision(True, f"through the grant of {grant.scope} by {grant.granted_by}")
    return Decision(True)


def owned_elsewhere(owning_tier: str) -> str:
    """The refusal for acting on a case the principal sees but whose owner is above them."""
    return f"the case is owned by the {owning_tier}: you may only view it"


def may_reveal(principal: Principal, case: CaseRef, now: datetime) -> Decision:
    """Whether the principal may reveal the case's personal data (an explicit, audited act)."""
    return decide(principal, Action.REVEAL_PERSONAL_DATA, case, now)


def needs_masking(
    principal: Principal, case: CaseRef, now: datetime, *, revealed: bool = False
) -> bool:
    """Whether personal data must be masked: always, unless revealed by one who may reveal."""
    return not (revealed and may_reveal(principal, case, now).allowed)
