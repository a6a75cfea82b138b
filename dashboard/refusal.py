"""A refused request's answer in the viewer's words (pages outside the Dash console)."""

from __future__ import annotations

from fastapi.responses import PlainTextResponse

from dashboard.i18n import text
from dashboard.presenters.case_panel import reason_words


def refusal(reason: str, lang: str) -> PlainTextResponse:
    """403 with the access rule's reason in zh-CN or English, never the raw English rule."""
    return PlainTextResponse(
        text(lang, "panel_refused").format(why=reason_words(reason, lang)), 403
    )
