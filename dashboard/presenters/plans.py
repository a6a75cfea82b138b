"""What the plans part of the case panel shows: proposed plans and each activation's checklist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.i18n import browser_words, role_name, text
from dashboard.presenters.case_panel import clock
from incidents.plan_library import Plan
from incidents.plans import PlanStatus, PlanView


@dataclass(frozen=True, slots=True)
class StepRow:
    """One checklist step: number, title, who does it, deadline, state in words."""

    step_no: int
    title: str
    role: str
    due: str
    state: str  # pending | done | overdue (the CSS class)
    state_words: str
    done: str  # who ticked it when, or ""


@dataclass(frozen=True, slots=True)
class ActivePlan:
    """An activation as the panel shows it, and which level moves exist."""

    activation_id: int
    name: str
    level: int
    level_words: str
    active: bool
    progress: str
    steps: tuple[StepRow, ...]
    can_raise: bool  # towards level I (1), the most severe
    can_lower: bool


def proposals(proposed: Sequence[Plan], active: Sequence[PlanView]) -> list[tuple[str, str]]:
    """The matching plans not already running on the case: (plan id, name)."""
    running = {view.plan_id for view in active if view.status is PlanStatus.ACTIVE}
    return [(plan.plan_id, plan.name) for plan in proposed if plan.plan_id not in running]


def active_plans(views: Sequence[PlanView], lang: str) -> list[ActivePlan]:
    """Each activation with its checklist, newest first."""
    severity = browser_words(lang)["severity"]
    out = []
    for view in sorted(views, key=lambda v: v.activated_at, reverse=True):
        steps = tuple(
            StepRow(
                s.step_no,
                s.title,
                role_name(lang, s.role),
                clock(s.due_at),
                s.state.value,
                text(lang, f"plan_step_{s.state.value}"),
                f"{s.done_by} {clock(s.done_at)}" if s.done_at and s.done_by else "",
            )
            for s in view.steps
        )
        done = sum(1 for s in steps if s.state == "done")
        active = view.status is PlanStatus.ACTIVE
        out.append(
            ActivePlan(
                view.activation_id,
                view.plan_name,
                view.level,
                severity.get(str(view.level), str(view.level)),
                active,
                text(lang, "plan_progress").format(done=done, total=len(steps)),
                steps,
                active and view.level > 1,
                active and view.level < 4,
            )
        )
    return out
