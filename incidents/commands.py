"""What a person (or the system) asks to do to a case: one frozen dataclass per command.

Every command names its `actor` (user id, or `system:…`), may give a `reason` (some moves
require one) and a `causation_id` (the request, report or job that caused it), which the
resulting events carry for accountability (责任追究制).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from incidents.case import DeadlineKind, DispatchTarget, LinkKind, Report, Satisfaction
from incidents.vocabulary import Tier

SYSTEM_DEADLINES = "system:deadlines"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandBase:
    """Who asks, why, and what caused it."""

    actor: str
    reason: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Accept(CommandBase):
    """受理: take the case at intake; the actor becomes its first-responsible owner."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject(CommandBase):
    """不予受理: turn the report away at intake (reason required)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalate(CommandBase):
    """上报上级: move the case up to `to_tier` (default: the next tier up); reason required."""

    to_tier: Tier | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HandDown(CommandBase):
    """交办下级: county to township or village, township to village; reason required."""

    to_tier: Tier


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOver(CommandBase):
    """移交: the owner hands first responsibility to `to_owner`; reason required."""

    to_owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispatch(CommandBase):
    """指挥派遣: send one or more units or departments."""

    targets: tuple[DispatchTarget, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledge(CommandBase):
    """签收: a dispatched unit or department confirms it has the task."""

    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrive(CommandBase):
    """到场: a unit reports it is on scene."""

    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFeedback(CommandBase):
    """处置反馈: a unit on the task reports progress, or completion when `completed`."""

    unit_id: str
    text: str
    photos: tuple[str, ...] = ()
    completed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestForces(CommandBase):
    """请求增援: ask for more forces; `unit_id` is the asking unit, if it is one."""

    needed: str
    unit_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StandDown(CommandBase):
    """撤回: release a unit still on the task (reason required)."""

    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Verify(CommandBase):
    """任务核查: someone other than the handlers passes the work or sends it back (reason)."""

    passed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluateAndArchive(CommandBase):
    """评价归档: record the reporter's satisfaction and close; no satisfaction needs a reason."""

    satisfaction: Satisfaction | None
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel(CommandBase):
    """撤销: the report turned out false; reason required."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeInto(CommandBase):
    """合并: close this duplicate into the case `target_case_id` (see incidents.merging)."""

    target_case_id: int
    target_case_no: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkReports(CommandBase):
    """关联: attach further reports of the same incident to this case."""

    reports: tuple[Report, ...]
    how: LinkKind = LinkKind.MANUAL
    merged_from_case_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlinkReport(CommandBase):
    """拆分: detach a linked report that is a different incident (reason required)."""

    source_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordOverdue(CommandBase):
    """超期: the scheduler records a missed deadline; below the county it also escalates.

    `kind` and `due_at` name the deadline the scheduler saw, so a stale order is refused.
    """

    kind: DeadlineKind
    due_at: datetime


Command = (
    Accept
    | Reject
    | Escalate
    | HandDown
    | HandOver
    | Dispatch
    | Acknowledge
    | Arrive
    | ReportFeedback
    | RequestForces
    | StandDown
    | Verify
    | EvaluateAndArchive
    | Cancel
    | MergeInto
    | LinkReports
    | UnlinkReport
    | RecordOverdue
)
