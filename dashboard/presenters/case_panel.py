"""What the case panel shows of a case: its facts, reporter, timeline and which actions apply."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dashboard.commands import TIER_CHOICES
from dashboard.i18n import browser_words, move_name, pick_lang, step_name, text
from incidents.access import ACTION_WORDS, Decision
from incidents.case import Case, DispatchTarget, Reporter, Satisfaction
from incidents.commands import (
    Accept,
    Cancel,
    Command,
    Dispatch,
    Escalate,
    EvaluateAndArchive,
    HandDown,
    HandOver,
    MergeInto,
    Reject,
    RequestForces,
    StandDown,
    UnlinkReport,
    Verify,
)
from incidents.lifecycle import IllegalMove, Move, apply
from incidents.store.queries import AssignmentView, CaseDetail, LinkedReportView, TimelineEntry
from incidents.views import CaseView
from incidents.vocabulary import Step

# The centre works in China Standard Time (no daylight saving), whatever the server's zone.
CST = timezone(timedelta(hours=8))

# The moves a person gives from the panel, in the order the buttons show; the units' own moves
# (acknowledge, arrive, feedback) come from their terminals, dispatch from the dispatch list,
# stand-down and unlink from the row of the unit or report they concern.
PANEL_MOVES: tuple[Move, ...] = (
    Move.ACCEPT,
    Move.REJECT,
    Move.ESCALATE,
    Move.HAND_DOWN,
    Move.HAND_OVER,
    Move.REQUEST_FORCES,
    Move.MERGE_INTO,
    Move.VERIFY_PASS,
    Move.VERIFY_FAIL,
    Move.EVALUATE_AND_ARCHIVE,
    Move.CANCEL,
)


def clock(at: datetime) -> str:
    """A moment as the centre reads it: month-day hour:minute, China time."""
    return at.astimezone(CST).strftime("%m-%d %H:%M")


def hh_mm(at: datetime) -> str:
    """A moment as hour:minute, China time."""
    return at.astimezone(CST).strftime("%H:%M")


def facts(view: CaseView, lang: str) -> list[tuple[str, str]]:
    """The case's labelled facts, in the order the panel lists them."""
    words = browser_words(lang)
    place = " / ".join(
        name for name in (view.township_name, view.village_name, view.grid_code) if name
    ) or text(lang, "panel_outside")
    status = (
        step_name(lang, Step(view.step))
        if view.status == "open"
        else text(lang, "panel_closed_status").format(status=text(lang, f"status_{view.status}"))
    )
    return [
        (text(lang, "panel_case_no"), view.case_no),
        (text(lang, "panel_place"), place),
        (text(lang, "panel_address"), view.address or text(lang, "panel_none")),
        (text(lang, "panel_channel"), words["channel"].get(view.channel, view.channel)),
        (text(lang, "panel_category"), words["category"].get(view.category, view.category)),
        (text(lang, "panel_severity"), words["severity"].get(str(view.severity), "")),
        (text(lang, "panel_step"), status),
        (text(lang, "panel_tier"), text(lang, f"tier_{view.owning_tier}")),
        (text(lang, "panel_owner"), view.owner or text(lang, "panel_nobody")),
        (
            text(lang, "panel_deadline"),
            clock(view.deadline_at) if view.deadline_at else text(lang, "panel_none"),
        ),
    ]


def masked_reporter(detail: CaseDetail) -> Reporter | None:
    """The reporter as the panel may show it unrevealed: from the opening event, masked."""
    for entry in detail.timeline:
        reporter = getattr(entry.details, "reporter", None)
        if entry.type == "case.opened" and isinstance(reporter, Reporter):
            # The read side masks already; masking again is a no-op and keeps this safe alone.
            return reporter.masked() if _looks_unmasked(reporter) else reporter
    return None


def _looks_unmasked(reporter: Reporter) -> bool:
    return "*" not in (reporter.name or "") + (reporter.phone or "")


def reporter_words(reporter: Reporter | None, lang: str) -> str:
    """The reporter's name and phone on one line (or that there is none)."""
    if reporter is None or not (reporter.name or reporter.phone):
        return text(lang, "panel_none")
    return " ".join(part for part in (reporter.name, reporter.phone) if part)


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One event as the panel lists it."""

    at: str
    who: str
    what: str


def _event_words(entry: TimelineEntry, lang: str, unit_names: Mapping[str, str]) -> str:
    details = entry.details
    unit_id = getattr(details, "unit_id", "")
    tier = getattr(details, "to_tier", None)
    satisfaction = getattr(details, "satisfaction", None)
    channel = getattr(getattr(details, "report", None), "channel", None)
    fields = {
        "tier": text(lang, f"tier_{tier}") if tier else "",
        "owner": getattr(details, "to_owner", ""),
        "units": getattr(details, "name", "") or unit_names.get(unit_id, unit_id),
        # Acknowledge, arrive, feedback and stand-down carry only the unit's id.
        "unit": unit_names.get(unit_id, unit_id),
        "text": getattr(details, "text", ""),
        "needed": getattr(details, "needed", ""),
        "satisfaction": text(lang, f"sat_{satisfaction}" if satisfaction else "sat_none"),
        "target": getattr(details, "into_case_no", ""),
        "channel": browser_words(lang)["channel"].get(str(channel), str(channel or "")),
    }
    key = f"event_{entry.type}"
    try:
        what = text(lang, key)
    except KeyError:
        return entry.type
    return what.format(**fields)


def timeline_rows(
    entries: list[TimelineEntry], lang: str, unit_names: Mapping[str, str] | None = None
) -> list[TimelineRow]:
    """Every event of the case, oldest first: when, who, what (units by name where known)."""
    names = unit_names or {}
    rows = []
    for entry in entries:
        what = _event_words(entry, lang, names)
        if entry.reason:
            what += "；" if pick_lang(lang) == "zh-CN" else "; "
            what += text(lang, "event_reason").format(reason=entry.reason)
        who = text(lang, "event_system") if entry.actor.startswith("system:") else entry.actor
        rows.append(TimelineRow(clock(entry.at), who, what))
    return rows


def report_line(report: LinkedReportView, lang: str) -> str:
    """A linked report's channel, time and how it came to the case."""
    channel = browser_words(lang)["channel"].get(report.channel, report.channel)
    how = text(lang, f"link_{report.link_kind}") if report.link_kind in ("auto", "manual") else ""
    return text(lang, "panel_linked_how").format(
        channel=channel, at=clock(report.reported_at), how=how or text(lang, "link_opening")
    )


def assignment_line(assignment: AssignmentView, lang: str) -> str:
    """A unit on the case and where it stands."""
    try:
        status = text(lang, f"unit_{assignment.status}")
    except KeyError:
        status = assignment.status
    name = assignment.name or assignment.unit_id
    return text(lang, "panel_unit_status").format(name=name, status=status)


@dataclass(frozen=True, slots=True)
class ActionState:
    """One action button: its move, label, and why it is disabled (empty: enabled)."""

    move: Move
    label: str
    why_not: str

    @property
    def enabled(self) -> bool:
        """Whether the button may be pressed."""
        return not self.why_not


def _probes(move: Move, actor: str) -> tuple[Command, ...]:
    """Commands that try `move` with every field filled in, to ask the lifecycle about it."""
    why = "probe"  # a placeholder reason: the dialog asks for the real one
    match move:
        case Move.ACCEPT:
            return (Accept(actor=actor),)
        case Move.REJECT:
            return (Reject(actor=actor, reason=why),)
        case Move.ESCALATE:
            return (Escalate(actor=actor, reason=why),)
        case Move.HAND_DOWN:
            tiers = TIER_CHOICES[Move.HAND_DOWN]
            return tuple(HandDown(actor=actor, reason=why, to_tier=t) for t in tiers)
        case Move.HAND_OVER:
            return (HandOver(actor=actor, reason=why, to_owner=f"{actor}~other"),)
        case Move.VERIFY_PASS:
            return (Verify(actor=actor, passed=True),)
        case Move.VERIFY_FAIL:
            return (Verify(actor=actor, reason=why, passed=False),)
        case Move.EVALUATE_AND_ARCHIVE:
            return (EvaluateAndArchive(actor=actor, satisfaction=Satisfaction.SATISFIED),)
        case Move.CANCEL:
            return (Cancel(actor=actor, reason=why),)
        case Move.DISPATCH:
            return (Dispatch(actor=actor, targets=(DispatchTarget(f"{actor}~probe-unit"),)),)
        case Move.REQUEST_FORCES:
            return (RequestForces(actor=actor, needed=why),)
        case Move.MERGE_INTO:
            # No case has id 0: the probe asks the step, the store finds the real target.
            return (MergeInto(actor=actor, reason=why, target_case_id=0, target_case_no=why),)
        case _:
            raise ValueError(f"the panel does not give {move.value}")


def lifecycle_refusal(case: Case, move: Move, actor: str, now: datetime) -> str | None:
    """Why the lifecycle would refuse `move` by `actor` now (None: some form of it works)."""
    return _refusal(case, _probes(move, actor), now)


def _refusal(case: Case, probes: tuple[Command, ...], now: datetime) -> str | None:
    first: str | None = None
    for probe in probes:
        try:
            apply(case, probe, now)
        except IllegalMove as illegal:
            first = first or illegal.why
        else:
            return None
    return first


def action_states(
    case: Case, may_act: Decision, actor: str, lang: str, now: datetime
) -> list[ActionState]:
    """Each panel action, disabled with its reason where the lifecycle or the role forbids it."""
    states = []
    for move in PANEL_MOVES:
        # The pure lifecycle is asked with a dry run: its rules are not repeated here.
        refusal = lifecycle_refusal(case, move, actor, now)
        if refusal is not None:
            why = reason_words(refusal, lang, case.step)
        elif not may_act.allowed:
            why = reason_words(may_act.reason, lang)
        else:
            why = ""
        states.append(ActionState(move, move_name(lang, move), why))
    return states


@dataclass(frozen=True, slots=True)
class RowAction:
    """A button on one unit's or one report's row: what it names, and why it is disabled."""

    key: str  # the unit id or the report's source id
    label: str
    why_not: str


def _row_action(
    case: Case, move: Move, key: str, probe: Command, may_act: Decision, lang: str, now: datetime
) -> RowAction:
    refusal = _refusal(case, (probe,), now)
    if refusal is not None:
        why = reason_words(refusal, lang, case.step)
    elif not may_act.allowed:
        why = reason_words(may_act.reason, lang)
    else:
        why = ""
    return RowAction(key, move_name(lang, move), why)


def stand_down_actions(
    case: Case, may_act: Decision, actor: str, lang: str, now: datetime
) -> dict[int, RowAction]:
    """撤回 for each unit still on the task, by assignment number."""
    return {
        a.assignment_no: _row_action(
            case,
            Move.STAND_DOWN,
            a.unit_id,
            StandDown(actor=actor, reason="probe", unit_id=a.unit_id),
            may_act,
            lang,
            now,
        )
        for a in case.active_assignments
    }


def unlink_actions(
    case: Case, source_ids: list[str], may_act: Decision, actor: str, lang: str, now: datetime
) -> dict[str, RowAction]:
    """拆分 for each report of the case (the opening one disabled, with the lifecycle's words)."""
    return {
        source_id: _row_action(
            case,
            Move.UNLINK_REPORT,
            source_id,
            UnlinkReport(actor=actor, reason="probe", source_id=source_id),
            may_act,
            lang,
            now,
        )
        for source_id in source_ids
    }


_ROLE_MAY_NOT = re.compile(r"^your role may not (.+)$")
_OWNED = re.compile(r"^the case is owned by the (\w+): you may only view it$")
# Lifecycle reasons that name a unit or user: their shape decides the words.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^only the owner \(.*\) can hand the case over$"), "why_only the owner"),
    (
        re.compile(r".* handled this case; someone else must verify it$"),
        "why_someone else must verify",
    ),
    (re.compile(r"^\w+ is not above \w+$"), "why_not above"),
    (re.compile(r"^\w+ cannot hand down to \w+$"), "why_cannot hand down"),
    (re.compile(r"^the case's location has no \w+ to move it to$"), "why_no place below"),
    (re.compile(r"^.+ is not on this case$"), "why_unit not on case"),
    (re.compile(r"^report .+ is not linked to this case$"), "why_report not linked"),
    (re.compile(r"^.+ is outside your jurisdiction$"), "why_outside your jurisdiction"),
)


def reason_words(reason: str, lang: str, step: Step | None = None) -> str:
    """An English refusal or lifecycle reason in the viewer's words."""
    if reason.startswith("not a move at this step") and step is not None:
        return text(lang, "panel_not_at_step").format(step=step_name(lang, step))
    if reason.startswith("the case is closed"):
        return text(lang, "panel_case_closed")
    try:
        return text(lang, f"why_{reason}")
    except KeyError:
        pass
    if match := _ROLE_MAY_NOT.match(reason):
        action = next((a for a, w in ACTION_WORDS.items() if w == match.group(1)), None)
        words = text(lang, f"act_{match.group(1)}") if action else match.group(1)
        return text(lang, "why_your role may not").format(action=words)
    if match := _OWNED.match(reason):
        return text(lang, "why_owned").format(tier=text(lang, f"tier_{match.group(1)}"))
    for pattern, key in _PATTERNS:
        if pattern.match(reason):
            return text(lang, key)
    return text(lang, "why_unknown").format(why=reason)


def stale_words(changed_by: str, changed_at: datetime, lang: str) -> str:
    """The concurrent-edit message: who changed the case, and when."""
    return text(lang, "panel_stale").format(who=changed_by, at=hh_mm(changed_at))


def illegal_words(move: Move, why: str, lang: str, step: Step | None = None) -> str:
    """A move the lifecycle refused, with its reason in words."""
    words = reason_words(why, lang, step)
    return text(lang, "panel_illegal").format(move=move_name(lang, move), why=words)
