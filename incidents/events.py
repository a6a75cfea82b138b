"""Domain events: what happened to a case, who did it, when and why. Never changed, never deleted.

An `Event` is an envelope (case, sequence, version, time, actor, reason, causation, the step
before and after, the deadline after) around one payload dataclass whose `type` is the dotted
name on the events stream ("case.opened", "case.dispatched", …). `to_json` / `from_json` are
the only way in or out of JSON; `to_public_json` masks personal data for shared screens.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

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
from incidents.codec import (
    CodecError,
    FunctionBuilder,
    JsonObject,
    JsonValue,
    constructor,
    decode,
    decode_dataclass,
    encode,
    encode_fields,
    field_hints,
    fields_encoder,
    loads,
    text_document,
    write_text,
)
from incidents.vocabulary import Category, Channel, Severity, Step, Tier

EVENT_SCHEMA = "event/1"

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class CaseOpened:
    """A case was opened from an accepted report (统一受理)."""

    type: ClassVar[EventType] = EventType.OPENED
    source_id: str
    channel: Channel
    category: Category
    severity: Severity
    summary: str
    location: Location
    reporter: Reporter | None
    reported_at: datetime
    jurisdiction: Jurisdiction
    owning_tier: Tier
    owning_org: str
    split_from_case_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseAccepted:
    """The case was taken at intake; `owner` is now first-responsible (首问责任人)."""

    type: ClassVar[EventType] = EventType.ACCEPTED
    owner: str


@dataclass(frozen=True, slots=True)
class CaseRejected:
    """The report was turned away at intake."""

    type: ClassVar[EventType] = EventType.REJECTED


@dataclass(frozen=True, slots=True)
class CaseEscalated:
    """The case went up a tier, by hand or because a deadline was missed (`auto`)."""

    type: ClassVar[EventType] = EventType.ESCALATED
    from_tier: Tier
    from_org: str
    to_tier: Tier
    to_org: str
    auto: bool = False


@dataclass(frozen=True, slots=True)
class CaseHandedDown:
    """The case went down to a lower tier (交办)."""

    type: ClassVar[EventType] = EventType.HANDED_DOWN
    from_tier: Tier
    from_org: str
    to_tier: Tier
    to_org: str


@dataclass(frozen=True, slots=True)
class OwnerHandedOver:
    """First responsibility passed from one person to another."""

    type: ClassVar[EventType] = EventType.OWNER_HANDED_OVER
    from_owner: str
    to_owner: str


@dataclass(frozen=True, slots=True)
class UnitDispatched:
    """A unit or department was sent to the case."""

    type: ClassVar[EventType] = EventType.DISPATCHED
    assignment_no: int
    unit_id: str
    kind: AssignmentKind
    name: str


@dataclass(frozen=True, slots=True)
class UnitAcknowledged:
    """A dispatched unit or department confirmed the task."""

    type: ClassVar[EventType] = EventType.UNIT_ACKNOWLEDGED
    assignment_no: int
    unit_id: str


@dataclass(frozen=True, slots=True)
class UnitArrived:
    """A unit is on scene."""

    type: ClassVar[EventType] = EventType.UNIT_ARRIVED
    assignment_no: int
    unit_id: str


@dataclass(frozen=True, slots=True)
class HandlingStarted:
    """The first unit or department is on the task: the case moves to handling."""

    type: ClassVar[EventType] = EventType.HANDLING_STARTED


@dataclass(frozen=True, slots=True)
class FeedbackReported:
    """A handler reported progress, or completion of its part."""

    type: ClassVar[EventType] = EventType.FEEDBACK_REPORTED
    assignment_no: int
    unit_id: str
    text: str
    photos: tuple[str, ...]
    completed: bool


@dataclass(frozen=True, slots=True)
class ForcesRequested:
    """More forces were asked for."""

    type: ClassVar[EventType] = EventType.FORCES_REQUESTED
    needed: str
    unit_id: str | None = None


@dataclass(frozen=True, slots=True)
class UnitStoodDown:
    """A unit or department was released from the task before completing it."""

    type: ClassVar[EventType] = EventType.UNIT_STOOD_DOWN
    assignment_no: int
    unit_id: str


@dataclass(frozen=True, slots=True)
class HandlingCompleted:
    """Every unit on the task is done and at least one completed it: ready for verification."""

    type: ClassVar[EventType] = EventType.HANDLING_COMPLETED


@dataclass(frozen=True, slots=True)
class CaseVerified:
    """Verification passed; `resolution_tier` is the tier that resolved it."""

    type: ClassVar[EventType] = EventType.VERIFIED
    resolution_tier: Tier


@dataclass(frozen=True, slots=True)
class CaseReopened:
    """Verification failed: back to handling, with these assignments re-tasked."""

    type: ClassVar[EventType] = EventType.REOPENED
    retasked: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CaseArchived:
    """Evaluated and closed (评价归档)."""

    type: ClassVar[EventType] = EventType.ARCHIVED
    satisfaction: Satisfaction | None
    resolution_tier: Tier
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class CaseCancelled:
    """Closed as a false report; units still on it were stood down."""

    type: ClassVar[EventType] = EventType.CANCELLED
    stood_down: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CaseMerged:
    """This case was a duplicate and now lives on as linked reports of another case."""

    type: ClassVar[EventType] = EventType.MERGED
    into_case_id: int
    into_case_no: str


@dataclass(frozen=True, slots=True)
class ReportLinked:
    """A further report of the same incident was attached (carries its source_id)."""

    type: ClassVar[EventType] = EventType.REPORT_LINKED
    source_id: str
    channel: Channel
    summary: str
    location: Location
    reported_at: datetime
    reporter: Reporter | None
    how: LinkKind
    merged_from_case_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReportUnlinked:
    """A linked report was split off (it will open its own case)."""

    type: ClassVar[EventType] = EventType.REPORT_UNLINKED
    source_id: str


@dataclass(frozen=True, slots=True)
class CaseOverdue:
    """A deadline was missed; recorded once per deadline and counted."""

    type: ClassVar[EventType] = EventType.OVERDUE
    kind: DeadlineKind
    due_at: datetime
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened to one case; `seq` counts a case's events from 1 with no gap.

    All events made by one command share its `version` (the case version after it).
    """

    case_id: int
    case_no: str
    seq: int
    version: int
    at: datetime
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

    def to_json(self) -> JsonObject:
        """This event as a JSON-safe dict (full personal data: for the event log)."""
        return to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, JsonValue]) -> Event:
        """Read an event written by `to_json`."""
        return from_json(data)


ENVELOPE_FIELDS = (
    "schema",
    "type",
    "case_id",
    "case_no",
    "seq",
    "version",
    "at",
    "actor",
    "reason",
    "causation_id",
    "step_before",
    "step_after",
    "status_after",
    "deadline",
)


def to_json(event: Event) -> JsonObject:
    """The event as a flat JSON object: envelope fields, then the payload's own fields."""
    payload = event.payload
    return _event_codec(type(payload)).to_json(event, payload)


def to_public_json(event: Event) -> JsonObject:
    """The event for the events stream and shared screens: reporters masked."""
    document = to_json(event)
    payload = event.payload
    if isinstance(payload, CaseOpened | ReportLinked) and payload.reporter is not None:
        # The key keeps its place, so this is to_json of the event with a masked reporter.
        document["reporter"] = encode(payload.reporter.masked())
    return document


def to_public_text(event: Event) -> str:
    """`to_public_json` as compact JSON text (non-ASCII kept), without the cost of json.dumps.

    The text equals `json.dumps(to_public_json(event), ensure_ascii=False,
    separators=(",", ":"))`, the format of `EventRow.data`.
    """
    payload = event.payload
    codec = _event_codec(type(payload))
    if codec is _SLOW_EVENT_CODEC:
        return write_text(text_document(to_public_json(event)), lambda: to_public_json(event))
    document = codec.to_text(event, payload)
    if isinstance(payload, CaseOpened | ReportLinked) and payload.reporter is not None:
        masked = payload.reporter.masked()
        document.reporter = fields_encoder(type(masked), text=True)(masked)
    return write_text(document, lambda: to_public_json(event))


def from_json(data: Mapping[str, JsonValue]) -> Event:
    """Read an event written by `to_json`; anything malformed raises CodecError."""
    name = data.get("type")
    if type(data) is dict and type(name) is str and data.get("schema") == EVENT_SCHEMA:
        payload_type = _PAYLOAD_BY_NAME.get(name)
        if payload_type is not None:
            event = _event_codec(payload_type).from_json(data)
            if event is not None:
                return event
    return _from_json_slow(data)


def _from_json_slow(data: Mapping[str, JsonValue]) -> Event:
    """`from_json` for documents the compiled readers do not take (they raise CodecError)."""
    if data.get("schema") != EVENT_SCHEMA:
        raise CodecError(f"not an {EVENT_SCHEMA} document: schema={data.get('schema')!r}")
    try:
        payload_type = PAYLOAD_TYPES[EventType(str(data.get("type")))]
    except ValueError as error:
        raise CodecError(f"unknown event type {data.get('type')!r}") from error
    missing = [name for name in ENVELOPE_FIELDS if name not in data]
    if missing:
        raise CodecError(f"event without {missing}")
    payload_data = {k: v for k, v in data.items() if k not in ENVELOPE_FIELDS}
    return Event(
        case_id=_decoded(int, data["case_id"]),
        case_no=_decoded(str, data["case_no"]),
        seq=_decoded(int, data["seq"]),
        version=_decoded(int, data["version"]),
        at=_decoded(datetime, data["at"]),
        actor=_decoded(str, data["actor"]),
        reason=_optional(str, data["reason"]),
        causation_id=_optional(str, data["causation_id"]),
        step_before=_optional(Step, data["step_before"]),
        step_after=_decoded(Step, data["step_after"]),
        status_after=_decoded(CaseStatus, data["status_after"]),
        deadline=_optional(Deadline, data["deadline"]),
        payload=decode_dataclass(payload_type, payload_data),
    )


def _to_json_slow(event: Event) -> JsonObject:
    """`to_json` for payloads the compiled writers do not cover (e.g. not a dataclass)."""
    document: JsonObject = {
        "schema": EVENT_SCHEMA,
        "type": event.type.value,
        "case_id": event.case_id,
        "case_no": event.case_no,
        "seq": event.seq,
        "version": event.version,
        "at": encode(event.at),
        "actor": event.actor,
        "reason": event.reason,
        "causation_id": event.causation_id,
        "step_before": encode(event.step_before),
        "step_after": encode(event.step_after),
        "status_after": encode(event.status_after),
        "deadline": encode(event.deadline),
    }
    document.update(encode_fields(event.payload))
    return document


@dataclass(frozen=True, slots=True)
class _EventCodec:
    """The JSON functions of events with one payload class, compiled once (`_event_codec`).

    `to_text` gives the `to_json` document ready for `write_text`; `from_json` takes a dict
    whose schema and type are right and gives None unless its keys are exactly the layout.
    """

    to_json: Callable[[Event, Any], JsonObject]
    to_text: Callable[[Event, Any], Any]
    from_json: Callable[[dict[str, JsonValue]], Event | None]


_SLOW_EVENT_CODEC = _EventCodec(
    to_json=lambda event, _: _to_json_slow(event),
    to_text=lambda event, _: text_document(_to_json_slow(event)),
    from_json=lambda _: None,
)


def _event_codec(payload_type: type) -> _EventCodec:
    """The compiled codec of events carrying `payload_type`, made on first use."""
    codec = _EVENT_CODECS.get(payload_type)
    if codec is None:
        with _COMPILING:
            codec = _EVENT_CODECS.get(payload_type)
            if codec is None:
                codec = _EVENT_CODECS[payload_type] = _compile_event_codec(payload_type)
    return codec


def _compile_event_codec(payload_type: type) -> _EventCodec:
    """Writers and a reader of the flat layout for one payload class (else the slow codec)."""
    envelope = field_hints(Event)
    fields = field_hints(payload_type) if dataclasses.is_dataclass(payload_type) else None
    type_value = getattr(getattr(payload_type, "type", None), "value", None)
    if envelope is None or fields is None or not isinstance(type_value, str):
        return _SLOW_EVENT_CODEC
    envelope = [(name, hint) for name, hint in envelope if name != "payload"]
    layout_as_expected = [name for name, _ in envelope] == list(ENVELOPE_FIELDS[2:])
    shadowed = {name for name, _ in fields} & set(ENVELOPE_FIELDS)
    if (
        not layout_as_expected
        or shadowed
        or not all(f.init for f in dataclasses.fields(payload_type))
    ):
        return _SLOW_EVENT_CODEC
    parts = [("event", name, hint) for name, hint in envelope]
    parts += [("payload", name, hint) for name, hint in fields]

    def writer(text: bool) -> Callable[[Event, Any], Any]:
        builder = FunctionBuilder()
        lines = []
        names = ["schema", "type"]
        values = [repr(EVENT_SCHEMA), repr(type_value)]
        for owner, name, hint in parts:
            local = builder.fresh("_f")
            expression = builder.encoding(hint, local, text=text)
            if expression == local:
                values.append(f"{owner}.{name}")
            else:
                lines.append(f"    {local} = {owner}.{name}")
                values.append(expression)
            names.append(name)
        document = builder.document(names, values, text=text)
        source = "\n".join(["def write(event, payload):", *lines, f"    return {document}"])
        return builder.build(source, "write")

    def reader() -> Callable[[dict[str, JsonValue]], Event | None]:
        builder = FunctionBuilder()
        lookups, envelope, payload_values = [], [], []
        for owner, name, hint in parts:
            local = builder.fresh("_v")
            lookups.append(f"        {local} = data[{name!r}]")
            if owner == "event":
                envelope.append((local, builder.decoding(hint, local)))
            else:
                payload_values.append(builder.decoding(hint, local))
        # The envelope goes into locals first, so it is checked before the payload, as before.
        checks = [f"{local} = {value}" for local, value in envelope]
        make_payload = builder.construction(payload_type, payload_values, "_p")
        make_event = builder.construction(Event, [*(n for n, _ in envelope), "_p"], "_o")
        source = "\n".join(
            [
                "def read(data):",
                f"    if len(data) != {len(parts) + 2}:",
                "        return None",
                "    try:",
                *lookups,
                "    except KeyError:",
                "        return None",
                *(f"    {line}" for line in [*checks, *make_payload, *make_event]),
                "    return _o",
            ]
        )
        return builder.build(source, "read")

    return _EventCodec(to_json=writer(False), to_text=writer(True), from_json=reader())


_EVENT_CODECS: dict[type, _EventCodec] = {}
_COMPILING = threading.Lock()
_PAYLOAD_BY_NAME: Mapping[str, type[Payload]] = {
    event_type.value: cls for event_type, cls in PAYLOAD_TYPES.items()
}


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event as one row of the append-only event log; `data` is `to_json` as text."""

    case_id: int
    seq: int
    version: int
    type: str
    at: datetime
    actor: str
    reason: str | None
    causation_id: str | None
    step_before: str | None
    step_after: str
    data: str


def event_to_row(event: Event) -> EventRow:
    """Flatten an event for the log; store every event `apply` returns, in order."""
    step_before = event.step_before
    # Positional through `constructor`, and `_value_` without the `value` property: faster.
    return _new_event_row(
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
        _event_text(event),  # data
    )


def event_from_row(row: EventRow) -> Event:
    """Read an event back from its log row."""
    data = loads(row.data)
    if not isinstance(data, dict):
        raise CodecError("event row data is not a JSON object")
    return from_json(data)


_new_event_row = constructor(EventRow)


def _event_text(event: Event) -> str:
    """`to_json(event)` as compact JSON text."""
    payload = event.payload
    document = _event_codec(type(payload)).to_text(event, payload)
    return write_text(document, lambda: to_json(event))


def _decoded(tp: type[T], value: JsonValue) -> T:
    result = decode(tp, value)
    assert isinstance(result, tp)
    return result


def _optional(tp: type[T], value: JsonValue) -> T | None:
    return None if value is None else _decoded(tp, value)
