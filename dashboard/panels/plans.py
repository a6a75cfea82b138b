"""The plans part of the case panel: propose, activate, tick steps, re-level and close."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from dash import html

from dashboard import ids
from dashboard.i18n import browser_words, text
from dashboard.presenters import plans as show
from dashboard.presenters.case_panel import reason_words
from dashboard.services import Services
from incidents.case import Case
from incidents.plan_library import PlanLibrary, load_library
from incidents.plans import IllegalPlanMove, plan_view, proposed_plans
from incidents.store.case_store import Conn
from incidents.store.plan_store import PlanAlreadyActive, PlanNotFound, activations_of_case
from incidents.vocabulary import Severity

PREFIX = "plan:"  # a plan button's move: the prefix and [what, id, argument, name]


@cache
def library() -> PlanLibrary:
    """The county's plan library (the same files the plan service loads)."""
    return load_library()


def move_of(what: str, target: int | str, arg: int, name: str) -> str:
    """A plan button's move name."""
    return PREFIX + json.dumps([what, target, arg, name], ensure_ascii=False)


def parse(move: str) -> tuple[str, int | str, int, str] | None:
    """What a plan button asks, or None if the move is not a plan's."""
    if not move.startswith(PREFIX):
        return None
    what, target, arg, name = json.loads(move[len(PREFIX) :])
    return str(what), target, int(arg), str(name)


def dialog(lang: str, what: str, arg: int, name: str) -> tuple[str, bool, str]:
    """The dialog's title, whether its text is required, and the text field's label."""
    level = browser_words(lang)["severity"].get(str(arg), str(arg))
    match what:
        case "activate":
            return (
                text(lang, "plan_activate_title").format(name=name),
                False,
                "panel_reason_optional",
            )
        case "tick":
            return (
                text(lang, "plan_tick_title").format(n=arg, title=name),
                False,
                "panel_reason_optional",
            )
        case "level":
            return text(lang, "plan_level_title").format(level=level), True, "panel_reason"
        case _:
            return text(lang, "plan_close_title").format(name=name), True, "plan_summary"


def _button(label: str, move: str, why_not: str) -> html.Button:
    return html.Button(
        label,
        id={"type": ids.PANEL_MOVE, "move": move},
        disabled=bool(why_not),
        title=why_not,
        className="move plan",
    )


async def section(conn: Conn, case: Case, why_not: str, lang: str, now: datetime) -> list[Any]:
    """Proposed plans and each activation's checklist; `why_not` disables every control."""
    views = [plan_view(a, now) for a in await activations_of_case(conn, case.case_id)]
    offered = show.proposals(proposed_plans(library(), case), views)
    items: list[Any] = []
    for plan_id, name in offered:
        items.append(
            html.Li(
                className="plan proposed",
                children=[
                    html.Span(text(lang, "plan_proposed").format(name=name), className="name"),
                    _button(
                        text(lang, "plan_activate"), move_of("activate", plan_id, 0, name), why_not
                    ),
                ],
            )
        )
    for plan in show.active_plans(views, lang):
        steps = [
            html.Li(
                className=f"step {step.state}",
                children=[
                    html.Span(f"{step.step_no}. {step.title}", className="title"),
                    html.Span(step.role, className="role"),
                    html.Span(step.due, className="due"),
                    html.Span(step.state_words, className="state"),
                    html.Span(step.done, className="done") if step.done else None,
                    _button(
                        text(lang, "plan_tick"),
                        move_of("tick", plan.activation_id, step.step_no, step.title),
                        why_not,
                    )
                    if plan.active and step.state != "done"
                    else None,
                ],
            )
            for step in plan.steps
        ]
        controls = []
        if plan.active:
            if plan.can_raise:
                controls.append(
                    _button(
                        text(lang, "plan_raise"),
                        move_of("level", plan.activation_id, plan.level - 1, plan.name),
                        why_not,
                    )
                )
            if plan.can_lower:
                controls.append(
                    _button(
                        text(lang, "plan_lower"),
                        move_of("level", plan.activation_id, plan.level + 1, plan.name),
                        why_not,
                    )
                )
            controls.append(
                _button(
                    text(lang, "plan_close"),
                    move_of("close", plan.activation_id, 0, plan.name),
                    why_not,
                )
            )
        state = text(lang, "plan_level").format(level=plan.level_words)
        if not plan.active:
            state += " · " + text(lang, "plan_closed")
        items.append(
            html.Li(
                className="plan active" if plan.active else "plan closed",
                children=[
                    html.Div(
                        [
                            html.Span(plan.name, className="name"),
                            html.Span(state, className="level"),
                            html.Span(plan.progress, className="progress"),
                        ],
                        className="head",
                    ),
                    html.Ol(steps, className="checklist"),
                    html.Div(controls, className="plan-controls"),
                ],
            )
        )
    if not items:
        items = [html.Li(text(lang, "plan_none"), className="none")]
    return [html.H3(text(lang, "plan_title")), html.Ul(items, className="plans")]


async def act(
    services: Services,
    case_id: int,
    what: str,
    target: int | str,
    arg: int,
    name: str,
    words: str,
    actor: str,
    lang: str,
    now: datetime,
) -> tuple[str, bool]:
    """Do what a plan button asked (the caller was checked): the notice and whether it worked."""
    service = await services.plans_of()
    try:
        match what:
            case "activate":
                await service.activate(case_id, str(target), by=actor, now=now)
                done = text(lang, "plan_activate")
            case "tick":
                await service.tick(int(target), arg, by=actor, now=now)
                done = text(lang, "plan_tick")
            case "level":
                await service.change_level(
                    int(target), Severity(arg), by=actor, now=now, reason=words
                )
                level = browser_words(lang)["severity"].get(str(arg), str(arg))
                done = text(lang, "plan_level").format(level=level)
            case _:
                await service.close(int(target), by=actor, now=now, summary=words)
                done = text(lang, "plan_close")
    except (IllegalPlanMove, PlanAlreadyActive, PlanNotFound) as refused:
        return text(lang, "plan_refused").format(why=reason_words(str(refused), lang)), False
    return text(lang, "plan_done").format(what=done, name=name), True
