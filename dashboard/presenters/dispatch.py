"""What the dispatch list shows: each recommended unit with its estimate, status and button."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dashboard.i18n import pick_lang, text
from dashboard.presenters.case_panel import reason_words
from geo.recommend import Recommendation
from incidents.case import Case, DispatchTarget
from incidents.commands import Dispatch
from incidents.lifecycle import IllegalMove, apply
from incidents.plans import ForceRequest
from incidents.units import UnitRecord


@dataclass(frozen=True, slots=True)
class DispatchRow:
    """One recommended unit as the list shows it, and whether (and why not) it can be sent."""

    unit_id: str
    name: str
    rank: int  # its place in the recommendation, 1 = best
    line: str  # ETA, distance, capabilities
    status: str
    reason: str  # why it is recommended (or flagged)
    available: bool
    why_not: str  # empty: the button is enabled


def _caps(record: UnitRecord | None, lang: str) -> str:
    if record is None:
        return ""
    sep = "、" if pick_lang(lang) == "zh-CN" else ", "
    return sep.join(text(lang, f"cap_{c.value}") for c in sorted(record.unit.capabilities))


def dispatch_rows(
    recommendations: Sequence[Recommendation],
    records: Mapping[str, UnitRecord],
    case: Case,
    actor: str,
    may_dispatch: str,
    lang: str,
    now: datetime,
) -> list[DispatchRow]:
    """The recommendation as rows; `may_dispatch` is the access refusal in words ('' if none)."""
    rows = []
    for rank, rec in enumerate(recommendations, start=1):
        record = records.get(rec.unit_id)
        status = record.status.value if record else "available"
        line = text(lang, "panel_dispatch_line").format(
            eta=max(1, round(rec.eta_s / 60)), km=f"{rec.road_km:.1f}", caps=_caps(record, lang)
        )
        # The list words its own notes (geo.recommend's reason is Chinese only, and repeats
        # the estimate the line already shows).
        notes = []
        if rec.same_township:
            notes.append(text(lang, "panel_dispatch_same"))
        if rec.stale:
            notes.append(text(lang, "panel_dispatch_stale"))
        if not rec.available:
            notes.append(
                text(lang, "panel_dispatch_override").format(status=text(lang, f"ustatus_{status}"))
            )
        rows.append(
            DispatchRow(
                rec.unit_id,
                rec.name,
                rank,
                line,
                text(lang, f"ustatus_{status}"),
                ("；" if pick_lang(lang) == "zh-CN" else "; ").join(notes),
                rec.available,
                _why_not(case, rec, actor, now, lang) or may_dispatch,
            )
        )
    return rows


def _why_not(case: Case, rec: Recommendation, actor: str, now: datetime, lang: str) -> str:
    """The lifecycle's refusal of sending this unit now (already on the case, wrong step…)."""
    probe = Dispatch(actor=actor, targets=(DispatchTarget(rec.unit_id, name=rec.name),))
    try:
        apply(case, probe, now)
    except IllegalMove as illegal:
        if illegal.why.startswith("already on this case"):
            return text(lang, "panel_already_on_case")
        return reason_words(illegal.why, lang, case.step)
    return ""


@dataclass(frozen=True, slots=True)
class PackageFill:
    """The units that fill a plan's force package (with their ranks), and what is left short."""

    picks: tuple[tuple[Recommendation, int], ...]
    short: tuple[tuple[str, int], ...]  # unit type, how many could not be found


def fill_package(
    requests: Sequence[ForceRequest],
    recommendations: Sequence[Recommendation],
    records: Mapping[str, UnitRecord],
    case: Case,
) -> PackageFill:
    """Each request (type × count) filled by the best available recommended units of its type."""
    taken = {a.unit_id for a in case.assignments if a.is_active}
    picks: list[tuple[Recommendation, int]] = []
    short: list[tuple[str, int]] = []
    for request in requests:
        # Units of the type already on the case count towards the package.
        have = sum(
            1
            for unit_id in taken
            if (r := records.get(unit_id)) and r.unit.type == request.unit_type
        )
        wanted = max(0, request.count - have)
        for rank, rec in enumerate(recommendations, start=1):
            if wanted == 0:
                break
            record = records.get(rec.unit_id)
            if record is None or record.unit.type != request.unit_type or not rec.available:
                continue
            if rec.unit_id in taken:
                continue
            picks.append((rec, rank))
            taken.add(rec.unit_id)
            wanted -= 1
        if wanted:
            short.append((request.unit_type, wanted))
    return PackageFill(tuple(picks), tuple(short))
