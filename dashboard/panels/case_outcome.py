"""What the confirm callback answers: field errors (the dialog stays), a refusal, or a change.

The outputs, in order: the reason, tier, owner, forces-needed and merge-target errors, the
notice and its class, the body, whether the dialog is hidden, and the panel's state.
"""

from __future__ import annotations

from typing import Any

from dash import no_update

Outcome = tuple[Any, ...]


def field_errors(
    reason: str = "", tier: str = "", owner: str = "", needed: str = "", target: str = ""
) -> Outcome:
    """The dialog stays open with the words next to the fields that stop it."""
    return (reason, tier, owner, needed, target, no_update, no_update, no_update, False, no_update)


def refused(notice: str) -> Outcome:
    """Nothing changed: the dialog closes and the notice says why; the body stays as it was."""
    # A stale panel re-reads when the user presses 刷新 or opens the case again, as asked.
    return ("", "", "", "", "", notice, "panel-notice bad", no_update, True, no_update)


def done(notice: str, tone: str, content: Any, state: dict[str, Any] | None) -> Outcome:
    """The act happened (wholly or in part): the panel shows the case as it now stands."""
    return ("", "", "", "", "", notice, f"panel-notice {tone}", content, True, state)
