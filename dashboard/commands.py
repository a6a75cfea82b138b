"""A panel's form and its viewer as an incidents command; what is missing, as words by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.i18n import text
from incidents.case import Satisfaction
from incidents.commands import (
    Accept,
    Cancel,
    Command,
    Escalate,
    EvaluateAndArchive,
    HandDown,
    HandOver,
    Reject,
    RequestForces,
    StandDown,
    Verify,
)
from incidents.lifecycle import Move
from incidents.vocabulary import Tier

# The form fields each move asks for in its confirmation dialog.
FIELDS: Mapping[Move, tuple[str, ...]] = {
    Move.ACCEPT: ("reason",),
    Move.REJECT: ("reason",),
    Move.ESCALATE: ("to_tier", "reason"),
    Move.HAND_DOWN: ("to_tier", "reason"),
    Move.HAND_OVER: ("to_owner", "reason"),
    Move.VERIFY_PASS: ("reason",),
    Move.VERIFY_FAIL: ("reason",),
    Move.EVALUATE_AND_ARCHIVE: ("satisfaction", "comment", "reason"),
    Move.CANCEL: ("reason",),
    Move.STAND_DOWN: ("reason",),
    Move.REQUEST_FORCES: ("needed", "unit", "reason"),
    Move.MERGE_INTO: ("target", "reason"),
    Move.UNLINK_REPORT: ("reason",),
}
# Moves that the case service runs on two cases at once (merge, split), not as one command.
TWO_CASE_MOVES = frozenset({Move.MERGE_INTO, Move.UNLINK_REPORT})
# The tiers each move may name (escalate: above; hand down: below the county).
TIER_CHOICES: Mapping[Move, tuple[Tier, ...]] = {
    Move.ESCALATE: (Tier.TOWNSHIP, Tier.COUNTY),
    Move.HAND_DOWN: (Tier.TOWNSHIP, Tier.VILLAGE),
}
# Moves whose reason the lifecycle requires (it refuses them without one).
NEEDS_REASON = frozenset(
    {
        Move.REJECT,
        Move.ESCALATE,
        Move.HAND_DOWN,
        Move.HAND_OVER,
        Move.VERIFY_FAIL,
        Move.CANCEL,
        Move.STAND_DOWN,
        Move.UNLINK_REPORT,
    }
)


@dataclass(frozen=True, slots=True)
class Built:
    """The command, or the words to show next to each field that stops it."""

    command: Command | None
    errors: Mapping[str, str]


def _clean(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def errors_of(move: Move, form: Mapping[str, object], lang: str) -> dict[str, str]:
    """The words next to each field of the dialog that stops `move` (empty: none)."""
    reason = _clean(form.get("reason")) or None
    errors: dict[str, str] = {}
    if move in NEEDS_REASON and not reason:
        errors["reason"] = text(lang, "panel_need_reason")
    tier_text = _clean(form.get("to_tier"))
    tier = Tier(tier_text) if tier_text in TIER_CHOICES.get(move, ()) else None
    if move is Move.HAND_DOWN and tier is None:
        errors["to_tier"] = text(lang, "panel_need_tier")
    owner = _clean(form.get("to_owner"))
    if move is Move.HAND_OVER and not owner:
        errors["to_owner"] = text(lang, "panel_need_owner")
    sat_text = _clean(form.get("satisfaction"))
    satisfaction = Satisfaction(sat_text) if sat_text in set(Satisfaction) else None
    if move is Move.EVALUATE_AND_ARCHIVE and satisfaction is None and not reason:
        errors["reason"] = text(lang, "panel_need_satisfaction_or_reason")
    if move is Move.REQUEST_FORCES and not _clean(form.get("needed")):
        errors["needed"] = text(lang, "panel_need_needed")
    if move is Move.MERGE_INTO and not _clean(form.get("target")):
        errors["target"] = text(lang, "panel_need_target")
    return errors


def build(move: Move, form: Mapping[str, object], actor: str, lang: str) -> Built:
    """The command the dialog asks for, given as `actor`, or the field errors in words.

    `form["unit"]` is the unit a stand-down releases (from its button) or that asks for
    forces (chosen, optional).
    """
    errors = errors_of(move, form, lang)
    if errors:
        return Built(None, errors)
    reason = _clean(form.get("reason")) or None
    tier_text = _clean(form.get("to_tier"))
    tier = Tier(tier_text) if tier_text in TIER_CHOICES.get(move, ()) else None
    owner = _clean(form.get("to_owner"))
    sat_text = _clean(form.get("satisfaction"))
    satisfaction = Satisfaction(sat_text) if sat_text in set(Satisfaction) else None
    unit = _clean(form.get("unit"))
    command: Command
    match move:
        case Move.ACCEPT:
            command = Accept(actor=actor, reason=reason)
        case Move.REJECT:
            command = Reject(actor=actor, reason=reason)
        case Move.ESCALATE:
            command = Escalate(actor=actor, reason=reason, to_tier=tier)
        case Move.HAND_DOWN:
            assert tier is not None
            command = HandDown(actor=actor, reason=reason, to_tier=tier)
        case Move.HAND_OVER:
            command = HandOver(actor=actor, reason=reason, to_owner=owner)
        case Move.VERIFY_PASS:
            command = Verify(actor=actor, reason=reason, passed=True)
        case Move.VERIFY_FAIL:
            command = Verify(actor=actor, reason=reason, passed=False)
        case Move.EVALUATE_AND_ARCHIVE:
            comment = _clean(form.get("comment")) or None
            command = EvaluateAndArchive(
                actor=actor, reason=reason, satisfaction=satisfaction, comment=comment
            )
        case Move.CANCEL:
            command = Cancel(actor=actor, reason=reason)
        case Move.STAND_DOWN:
            command = StandDown(actor=actor, reason=reason, unit_id=unit)
        case Move.REQUEST_FORCES:
            needed = _clean(form.get("needed"))
            command = RequestForces(actor=actor, reason=reason, needed=needed, unit_id=unit or None)
        case _:
            raise ValueError(f"the panel does not give {move.value}")
    return Built(command, {})
