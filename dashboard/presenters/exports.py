"""The queue as a CSV export: a header in the reader's words, one row a case, no personal data."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from dashboard.i18n import browser_words, pick_lang, step_name, text
from dashboard.presenters.case_panel import clock
from incidents.case import mask_address
from incidents.views import CaseView
from incidents.vocabulary import Step

COLUMNS = (
    "panel_case_no",
    "panel_category",
    "panel_severity",
    "panel_channel",
    "panel_step",
    "panel_place",
    "panel_address",
    "panel_owner",
    "panel_deadline",
    "export_opened",
    "export_summary",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def queue_csv(cases: Sequence[CaseView], lang: str) -> str:
    """The cases as CSV; sensitive addresses masked; reporters never appear (views have none)."""
    words = browser_words(lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([text(lang, key) for key in COLUMNS])
    for view in cases:
        place = " / ".join(n for n in (view.township_name, view.village_name) if n)
        status = (
            step_name(lang, Step(view.step))
            if view.status == "open"
            else text(lang, f"status_{view.status}")
        )
        row = [
            view.case_no,
            words["category"].get(view.category, view.category),
            words["severity"].get(str(view.severity), ""),
            words["channel"].get(view.channel, view.channel),
            status,
            place or text(lang, "panel_outside"),
            mask_address(view.address, view.category) or "",
            view.owner or "",
            clock(view.deadline_at) if view.deadline_at else "",
            clock(view.opened_at),
            view.summary,
        ]
        writer.writerow([_cell(v) for v in row])
    # A byte-order mark so that spreadsheet programs read the Chinese as UTF-8.
    return ("\ufeff" if pick_lang(lang) == "zh-CN" else "") + out.getvalue()
