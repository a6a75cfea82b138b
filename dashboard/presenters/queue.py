"""The queue grid's columns: which case fields show, how they are labelled, sorted and filtered.

The rows themselves never pass through here: the browser adds them from the live socket. The
columns name `CaseView` fields (the same names the socket carries) and the browser functions
(`window.dashAgGridFunctions`, assets/web/live/queue.js) that turn codes into words.
"""

from __future__ import annotations

from typing import Any

from dashboard.i18n import text
from incidents.views import CaseView

# Browser functions the column definitions call, defined in assets/web/live/queue.js.
WORD = "pinganWord(params, '{group}')"
COUNTDOWN = "pinganCountdown(params)"
DEADLINE_CLASS = "pinganDeadlineClass(params)"
SEVERITY_CLASS = "pinganSeverityClass(params)"
ROW_CLASS = "pinganRowClass(params)"
SUMMARY_CLASS = "pinganSummaryClass(params)"
REPORTS = "pinganReports(params)"
TIME = "pinganTime(params)"
# A sort key the browser keeps on each row (not a case field): the time of the row's latest
# news. A plain field, because the grid reads it for every row on every re-sort, and a
# function there would be interpreted each time (measured: 83 → 307 ms per new case at 10k).
LATEST_FIELD = "pinganLatest"
EXTERNAL_PRESENT = "pinganExternalPresent()"
EXTERNAL_PASSES = "pinganExternalPasses(params)"
ROW_ID = "pinganRowId(params)"

_TEXT_FILTER = {"filter": "agTextColumnFilter", "floatingFilter": True}


def _worded(group: str) -> dict[str, Any]:
    """A code column shown, filtered and sorted by no more than its words."""
    fn = {"function": WORD.format(group=group)}
    return {"valueFormatter": fn, "filterValueGetter": fn, **_TEXT_FILTER}


def queue_columns(lang: str) -> list[dict[str, Any]]:
    """The column definitions of the queue in one language, in the order they show."""
    fields = set(CaseView.__struct_fields__)
    columns: list[dict[str, Any]] = [
        {
            "field": "severity",
            "headerName": text(lang, "col_severity"),
            "width": 84,  # "Level IV" in English
            "cellClass": {"function": SEVERITY_CLASS},
            **_worded("severity"),
        },
        {
            "field": "case_no",
            "headerName": text(lang, "col_case_no"),
            "width": 196,  # the 20-character case no.
            "cellClass": "case-no",
            **_TEXT_FILTER,
        },
        {"field": "category", "headerName": text(lang, "col_category"), "width": 116}
        | _worded("category"),
        {"field": "channel", "headerName": text(lang, "col_channel"), "width": 100}
        | _worded("channel"),
        {
            "field": "summary",
            "headerName": text(lang, "col_summary"),
            "flex": 1,
            "minWidth": 130,
            "tooltipField": "summary",
            # The 新 / +1 报告 mark is the cell's ::before (its words set by the browser), not
            # a React cell renderer: those cost a React render per visible row per change.
            "cellClass": {"function": SUMMARY_CLASS},
            **_TEXT_FILTER,
        },
        {"field": "township_name", "headerName": text(lang, "col_township"), "width": 92}
        | _TEXT_FILTER,
        {"field": "step", "headerName": text(lang, "col_step"), "width": 92} | _worded("step"),
        {"field": "owner", "headerName": text(lang, "col_owner"), "width": 96} | _TEXT_FILTER,
        {
            "field": "report_count",
            "headerName": text(lang, "col_reports"),
            "width": 88,
            "valueFormatter": {"function": REPORTS},
            "filter": "agNumberColumnFilter",
        },
        {
            "field": "deadline_at",
            "headerName": text(lang, "col_deadline"),
            "width": 128,
            "valueFormatter": {"function": COUNTDOWN},
            "cellClass": {"function": DEADLINE_CLASS},
        },
        {
            # Sorted by its latest news (opening, or a report linked while shown): a newly
            # linked report bumps its case to the top; the cell shows the opening time.
            "field": LATEST_FIELD,
            "colId": "opened_at",
            "headerName": text(lang, "col_opened"),
            "width": 96,
            "sort": "desc",
            "valueFormatter": {"function": TIME},
        },
    ]
    unknown = [c["field"] for c in columns if c["field"] not in fields | {LATEST_FIELD}]
    if unknown:  # a renamed view field must not leave an empty column behind
        raise ValueError(f"queue columns name no case field: {unknown}")
    return columns


def grid_options() -> dict[str, Any]:
    """Grid behaviour: row ids from case ids, row marks, and the overdue / mine toggles."""
    return {
        "getRowClass": {"function": ROW_CLASS},
        "isExternalFilterPresent": {"function": EXTERNAL_PRESENT},
        "doesExternalFilterPass": {"function": EXTERNAL_PASSES},
        "animateRows": False,  # thousands of rows re-sorting must not animate on a wall
        # A transaction re-sorts only the rows it adds or changes, not all 10,000.
        "deltaSort": True,
        "suppressCellFocus": True,
        "tooltipShowDelay": 400,
    }
