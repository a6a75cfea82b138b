"""The opened case: its facts, reporter, timeline, reports, units and lifecycle actions.

The panel is several modules: `case_layout` (frame, dialog, body), `case_history` (units,
timeline, reports), `case_reading` (reading a case as the caller), `case_open` (open, refresh,
close), `case_choose` (the dialog for a pressed button), `case_confirm` with `case_sending`
and `case_outcome` (doing it). This module registers them and keeps the names others import.
"""

from __future__ import annotations

from dash import Dash

from dashboard.panels import case_choose, case_confirm, case_open
from dashboard.panels.case_layout import REVEAL, body, lang_of
from dashboard.panels.case_reading import compose, failure_words
from dashboard.services import Services

__all__ = ["REVEAL", "body", "compose", "failure_words", "lang_of", "register"]


def register(app: Dash, services: Services) -> None:
    """The case panel's callbacks: open, close, choose an action, confirm it."""
    case_open.register(app, services)
    case_choose.register(app)
    case_confirm.register(app, services)
