"""The console's panels: each a layout factory with its callbacks beside it."""

from __future__ import annotations

from dash import Dash

from dashboard.panels import case_panel, intake_form
from dashboard.services import Services


def register_panels(app: Dash, services: Services | None) -> None:
    """Register every panel's callbacks (none without services: a page that only watches)."""
    if services is None:
        return
    case_panel.register(app, services)
    intake_form.register(app, services)
