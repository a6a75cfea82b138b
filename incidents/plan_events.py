"""Events of emergency plans on the events stream: `plan.proposed`, `plan.activated`, ….

Each is one flat event/1 document (schema, type, at, actor, case_id, township_code for the
gateway's jurisdiction filter, then its own fields). They carry no free text typed by people
(no summaries, no reasons) and nothing about reporters: no personal data leaves this way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, TypedDict

import msgspec

from incidents.vocabulary import Moment, Severity

PLAN_EVENT_SCHEMA = "event/1"


class Envelope(TypedDict):
    """The fields every event of one activation shares."""

    at: Moment
    actor: str
    case_id: int
    case_no: str
    township_code: str | None
    plan_id: str
    activation_id: int


class _Base(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag_field="type"):
    """What every plan event carries."""

    schema: Literal["event/1"] = "event/1"
    at: Moment
    actor: str
    case_id: int
    case_no: str
    township_code: str | None
    plan_id: str


class PlanProposed(_Base, frozen=True, gc=False, kw_only=True, tag="plan.proposed"):
    """A case matched a plan's triggers; the duty officer may activate it."""

    plan_name: str
    level: Severity


class ActivatedStep(msgspec.Struct, frozen=True, gc=False):
    """A checklist step as announced on activation."""

    step_no: int
    title: str
    role: str
    due_at: Moment


class PlanActivated(_Base, frozen=True, gc=False, kw_only=True, tag="plan.activated"):
    """启动预案: the checklist and the force package (unit type, count) are on the case."""

    activation_id: int
    plan_name: str
    level: Severity
    steps: tuple[ActivatedStep, ...]
    forces: tuple[tuple[str, int], ...]


class PlanStepDone(_Base, frozen=True, gc=False, kw_only=True, tag="plan.step_done"):
    """A step was ticked; `late` if after its deadline."""

    activation_id: int
    step_no: int
    due_at: Moment
    late: bool


class PlanStepOverdue(_Base, frozen=True, gc=False, kw_only=True, tag="plan.step_overdue"):
    """A step passed its deadline undone (announced once)."""

    activation_id: int
    step_no: int
    due_at: Moment
    overdue_by: timedelta


class PlanLevelChanged(_Base, frozen=True, gc=False, kw_only=True, tag="plan.level_changed"):
    """The response level was raised or lowered; deadlines stay."""

    activation_id: int
    from_level: Severity
    to_level: Severity


class PlanClosed(_Base, frozen=True, gc=False, kw_only=True, tag="plan.closed"):
    """The plan was closed (the summary is stored, not published)."""

    activation_id: int
    steps_done: int
    steps_late: int
    steps_open: int


PlanEvent = (
    PlanProposed | PlanActivated | PlanStepDone | PlanStepOverdue | PlanLevelChanged | PlanClosed
)

_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER: msgspec.json.Decoder[PlanEvent] = msgspec.json.Decoder(PlanEvent)


def plan_event_type(event: PlanEvent) -> str:
    """The dotted name, e.g. plan.step_done."""
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def plan_event_json(event: PlanEvent) -> bytes:
    """The event as it goes to the log and the events stream (no personal data in it)."""
    return _ENCODER.encode(event)


def plan_event_from_json(text: str | bytes) -> PlanEvent:
    """Read a plan event back; raises msgspec.ValidationError or DecodeError otherwise."""
    return _DECODER.decode(text)
