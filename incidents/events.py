"""Domain events: what happened to a case, who did it, when and why. Never changed, never deleted.

An `Event` is an envelope (case, sequence, version, time, actor, reason, causation, the step
before and after, the deadline after) around one payload struct whose `type` is the dotted
name on the events stream ("case.opened", "case.dispatched", …).

As JSON an event is one flat object: `schema`, `type`, the envelope, then the payload's own
fields. msgspec writes and reads it through one document struct per event type, made from
the envelope's and the payload's fields (`msgspec.defstruct`), so decoding validates every
field and refuses unknown ones in one pass. `public_event_json` masks personal data for the
events stream and shared screens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal, Union

import msgspec

from incidents.case import (
    AssignmentKind,
    CaseStatus,
    Deadline,
    DeadlineKind,
    Jurisdiction,
    LinkKind,
    Location,
    Reporter,
    Satisfaction,
)
from incidents.vocabulary import Category, Channel, Moment, Severity, Step, Tier

EVENT_SCHEMA = "event/1"


class EventDecodeError(ValueError):
    """A JSON document that is not a valid event/1 event."""


class EventType(StrEnum):
    """Dotted event names, as they appear on the events stream."""

    OPENED = "case.opened"
    ACCEPTED = "case.accepted"
    REJECTED = "case.rejected"
    ESCALATED = "case.escalated"
    HANDED_DOWN = "case.handed_down"
    OWNER_HANDED_OVER = "case.owner_handed_over"
    DISPATCHED = "case.dispatched"
    UNIT_ACKNOWLEDGED = "case.unit_acknowledged"
    UNIT_ARRIVED = "case.unit_arrived"
    HANDLING_STARTED = "case.handling_started"
    FEEDBACK_REPORTED = "case.feedback_reported"
    FORCES_REQUESTED = "case.forces_requested"
    UNIT_STOOD_DOWN = "case.unit_stood_down"
    HANDLING_COMPLETED = "case.handling_completed"
    VERIFIED = "case.verified"
    REOPENED = "case.reopened"
    ARCHIVED = "case.archived"
    CANCELLED = "case.cancelled"
    MERGED = "case.merged"
    REPORT_LINKED = "case.report_linked"
    REPORT_UNLINKED = "case.report_unlinked"
    OVERDUE = "case.overdue"


class CaseOpened(msgspec.Struct, frozen=True, gc=False):
    """A case was opened from an accepted report (统一受理)."""

    type: ClassVar[EventType] = EventType.OPENED
    source_id: str
    channel: Channel
    category: Category
    severity: Severity
    summary: str
    location: Location
    reporter: Reporter | None
    reported_at: Moment
    jurisdiction: Jurisdiction
    owning_tier: Tier
    owning_org: str
    split_from_case_id: int | None = None


class CaseAccepted(msgspec.Struct, frozen=True, gc=False):
    """The case was taken at intake; `owner` is now first-responsible (首问责任人)."""

    type: ClassVar[EventType] = EventType.ACCEPTED
    owner: str


class CaseRejected(msgspec.Struct, frozen=True, gc=False):
    """The report was turned away at intake."""

    type: ClassVar[EventType] = EventType.REJECTED


class CaseEscalated(msgspec.Struct, frozen=True, gc=False):
    """The case went up a tier, by hand or because a deadline was missed (`auto`)."""

    type: ClassVar[EventType] = EventType.ESCALATED
    from_tier: Tier
    from_org: str
    to_tier: Tier
    to_org: str
    auto: bool = False


class CaseHandedDown(msgspec.Struct, frozen=True, gc=False):
    """The case went down to a lower tier (交办)."""

    type: ClassVar[EventType] = EventType.HANDED_DOWN
    from_tier: Tier
    from_org: str
    to_tier: Tier
    to_org: str


class OwnerHandedOver(msgspec.Struct, frozen=True, gc=False):
    """First responsibility passed from one person to another."""

    type: ClassVar[EventType] = EventType.OWNER_HANDED_OVER
    from_owner: str
    to_owner: str


class UnitDispatched(msgspec.Struct, frozen=True, gc=False):
    """A unit or department was sent to the case."""

    type: ClassVar[EventType] = EventType.DISPATCHED
    assignment_no: int
    unit_id: str
    kind: AssignmentKind
    name: str


class UnitAcknowledged(msgspec.Struct, frozen=True, gc=False):
    """A dispatched unit or department confirmed the task."""

    type: ClassVar[EventType] = EventType.UNIT_ACKNOWLEDGED
    assignment_no: int
    unit_id: str


class UnitArrived(msgspec.Struct, frozen=True, gc=False):
    """A unit is on scene."""

    type: ClassVar[EventType] = EventType.UNIT_ARRIVED
    assignment_no: int
    unit_id: str


class HandlingStarted(msgspec.Struct, frozen=True, gc=False):
    """The first unit or department is on the task: the case moves to handling."""

    type: ClassVar[EventType] = EventType.HANDLING_STARTED


class FeedbackReported(msgspec.Struct, frozen=True, gc=False):
    """A handler reported progress, or completion of its part."""

    type: ClassVar[EventType] = EventType.FEEDBACK_REPORTED
    assignment_no: int
    unit_id: str
    text: str
    photos: tuple[str, ...]
    completed: bool


class ForcesRequested(msgspec.Struct, frozen=True, gc=False):
    """More forces were asked for."""

    type: ClassVar[EventType] = EventType.FORCES_REQUESTED
    needed: str
    unit_id: str | None = None


class UnitStoodDown(msgspec.Struct, frozen=True, gc=False):
    """A unit or department was released from the task before completing it."""

    type: ClassVar[EventType] = EventType.UNIT_STOOD_DOWN
    assignment_no: int
    unit_id: str


class HandlingCompleted(msgspec.Struct, frozen=True, gc=False):
    """Every unit on the task is done and at least one completed it: ready for verification."""

    type: ClassVar[EventType] = EventType.HANDLING_COMPLETED


class CaseVerified(msgspec.Struct, frozen=True, gc=False):
    """Verification passed; `resolution_tier` is the tier that resolved it."""

    type: ClassVar[EventType] = EventType.VERIFIED
    resolution_tier: Tier


class CaseReopened(msgspec.Struct, frozen=True, gc=False):
    """Verification failed: back to handling, with these assignments re-tasked."""

    type: ClassVar[EventType] = EventType.REOPENED
    retasked: tuple[int, ...]


class CaseArchived(msgspec.Struct, frozen=True, gc=False):
    """Evaluated and closed (评价归档)."""

    type: ClassVar[EventType] = EventType.ARCHIVED
    satisfaction: Satisfaction | None
    resolution_tier: Tier
    comment: str | None = None


class CaseCancelled(msgspec.Struct, frozen=True, gc=False):
    """Closed as a false report; units still on it were stood down."""

    type: ClassVar[EventType] = EventType.CANCELLED
    stood_down: tuple[int, ...]


class CaseMerged(msgspec.Struct, frozen=True, gc=False):
    """This case was a duplicate and now lives on as linked reports of another case."""

    type: ClassVar[EventType] = EventType.MERGED
    into_case_id: int
    into_case_no: str


class ReportLinked(msgspec.Struct, frozen=True, gc=False):
    """A further report of the same incident was attached (carries its source_id)."""

    type: ClassVar[EventType] = EventType.REPORT_LINKED
    source_id: str
    channel: Channel
    summary: str
    location: Location
    reported_at: Moment
    reporter: Reporter | None
    how: LinkKind
    merged_from_case_id: int | None = None


class ReportUnlinked(msgspec.Struct, frozen=True, gc=False):
    """A linked report was split off (it will open its own case)."""

    type: ClassVar[EventType] = EventType.REPORT_UNLINKED
    source_id: str


class CaseOverdue(msgspec.Struct, frozen=True, gc=False):
    """A deadline was missed; recorded once per deadline and counted."""

    type: ClassVar[EventType] = EventType.OVERDUE
    kind: DeadlineKind
    due_at: Moment
    overdue_by: timedelta


Payload = (
    CaseOpened
    | CaseAccepted
    | CaseRejected
    | CaseEscalated
    | CaseHandedDown
    | OwnerHandedOver
    | UnitDispatched
    | UnitAcknowledged
    | UnitArrived
    | HandlingStarted
    | FeedbackReported
    | ForcesRequested
    | UnitStoodDown
    | HandlingCompleted
    | CaseVerified
    | CaseReopened
    | CaseArchived
    | CaseCancelled
    | CaseMerged
    | ReportLinked
    | ReportUnlinked
    | CaseOverdue
)

PAYLOAD_TYPES: Mapping[EventType, type[Payload]] = {
    cls.type: cls
    for cls in (
        CaseOpened,
        CaseAccepted,
        CaseRejected,
        CaseEscalated,
        CaseHandedDown,
        OwnerHandedOver,
        UnitDispatched,
        UnitAcknowledged,
        UnitArrived,
        HandlingStarted,
        FeedbackReported,
        ForcesRequested,
        UnitStoodDown,
        HandlingCompleted,
        CaseVerified,
        CaseReopened,
        CaseArchived,
        CaseCancelled,
        CaseMerged,
        ReportLinked,
        ReportUnlinked,
        CaseOverdue,
    )
}


class Event(msgspec.Struct, frozen=True, gc=False):
    """One thing that happened to one case; `seq` counts a case's events from 1 with no gap.

    All events made by one command share its `version` (the case version after it).
    """

    case_id: int
    case_no: str
    seq: int
    version: int
    at: Moment
    actor: str
    reason: str | None
    causation_id: str | None
    step_before: Step | None
    step_after: Step
    status_after: CaseStatus
    deadline: Deadline | None
    payload: Payload

    @property
    def type(self) -> EventType:
        """The dotted name, e.g. case.dispatched."""
        return self.payload.type


ENVELOPE_FIELDS: tuple[str, ...] = ("schema", "type", *Event.__struct_fields__[:-1])

# Old rows wrote a duration as seconds; msgspec writes ISO 8601 ("PT90S"). Both are read.
_DURATION = timedelta | float


def _document_type(payload_type: type[Payload]) -> type[msgspec.Struct]:
    """The flat JSON form of events carrying `payload_type`: schema, envelope, payload."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [("schema", Literal["event/1"])]
    for info in msgspec.structs.fields(Event)[:-1]:
        fields.append((info.name, info.type))
    for info in msgspec.structs.fields(payload_type):
        kind = _DURATION if info.type is timedelta else info.type
        if info.default is msgspec.NODEFAULT:
            fields.append((info.name, kind))
        else:
            fields.append((info.name, kind, info.default))
    return msgspec.defstruct(
        f"{payload_type.__name__}Document",
        fields,
        tag_field="type",
        tag=payload_type.type.value,
        forbid_unknown_fields=True,
        frozen=True,
        gc=False,
    )


_DOCUMENTS: Mapping[type[Payload], type[msgspec.Struct]] = {
    cls: _document_type(cls) for cls in PAYLOAD_TYPES.values()
}
_DURATION_FIELDS: Mapping[type[Payload], tuple[int, ...]] = {
    cls: tuple(n for n, info in enumerate(msgspec.structs.fields(cls)) if info.type is timedelta)
    for cls in PAYLOAD_TYPES.values()
}
_PAYLOAD_OF: Mapping[type[msgspec.Struct], type[Payload]] = {
    document: payload for payload, document in _DOCUMENTS.items()
}
_ENVELOPE_SIZE = len(Event.__struct_fields__) - 1
_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[tuple(_DOCUMENTS.values())])  # noqa: UP007


def _document(event: Event, payload: Payload) -> msgspec.Struct:
    """The flat document of `event`, carrying `payload` (the event's own, or a masked copy)."""
    envelope = msgspec.structs.astuple(event)[:_ENVELOPE_SIZE]
    return _DOCUMENTS[type(payload)](EVENT_SCHEMA, *envelope, *msgspec.structs.astuple(payload))


def event_json(event: Event) -> bytes:
    """The event as flat JSON with full personal data: the event log's form."""
    return _ENCODER.encode(_document(event, event.payload))


def public_payload(payload: Payload) -> Payload:
    """The payload as shared screens may see it: reporters masked (王**, 139****4567)."""
    if isinstance(payload, CaseOpened | ReportLinked) and payload.reporter is not None:
        return msgspec.structs.replace(payload, reporter=payload.reporter.masked())
    return payload


def public_event_json(event: Event) -> bytes:
    """The event for the events stream and shared screens: `event_json` with reporters masked."""
    return _ENCODER.encode(_document(event, public_payload(event.payload)))


def event_from_json(text: str | bytes) -> Event:
    """Read an event written by `event_json` (or by the codec before it); else EventDecodeError."""
    try:
        document = _DECODER.decode(text)
    except msgspec.MsgspecError as error:
        raise EventDecodeError(f"not an {EVENT_SCHEMA} event: {error}") from None
    payload_type = _PAYLOAD_OF[type(document)]
    values = msgspec.structs.astuple(document)
    fields: Sequence[Any] = values[1 + _ENVELOPE_SIZE :]
    durations = _DURATION_FIELDS[payload_type]
    if durations:
        fields = [
            timedelta(seconds=v) if n in durations and isinstance(v, float) else v
            for n, v in enumerate(fields)
        ]
    # The envelope's fields in order, then the payload: positional is the cheapest call.
    return Event(*[*values[1 : 1 + _ENVELOPE_SIZE], payload_type(*fields)])


def join_objects(objects: Sequence[bytes]) -> bytes:
    """One JSON object holding the members of each given object, in order.

    Used where a document is an event plus members only known later (its log id, the case
    view): each part is written by msgspec, and `{"a":1}` + `{"b":2}` is `{"a":1,"b":2}`.
    """
    members = [part[1:-1] for part in objects if part != b"{}"]
    return b"{" + b",".join(members) + b"}"


class EventRow(msgspec.Struct, frozen=True, gc=False):
    """An event as one row of the append-only event log; `data` is `event_json` as text."""

    case_id: int
    seq: int
    version: int
    type: str
    at: Moment
    actor: str
    reason: str | None
    causation_id: str | None
    step_before: str | None
    step_after: str
    data: str


def event_to_row(event: Event) -> EventRow:
    """Flatten an event for the log; store every event `apply` returns, in order."""
    step_before = event.step_before
    # Positional, and `_value_` without the `value` property: faster.
    return EventRow(
        event.case_id,  # case_id
        event.seq,  # seq
        event.version,  # version
        event.payload.type._value_,  # type
        event.at,  # at
        event.actor,  # actor
        event.reason,  # reason
        event.causation_id,  # causation_id
        step_before._value_ if step_before else None,  # step_before
        event.step_after._value_,  # step_after
        event_json(event).decode(),  # data
    )


def event_from_row(row: EventRow) -> Event:
    """Read an event back from its log row."""
    return event_from_json(row.data)
