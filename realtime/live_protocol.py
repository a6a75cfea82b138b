"""The live/1 push protocol: every client and server message as a typed struct, one encoder.

Client messages are validated on the way in (unknown fields refused); server messages are
tagged structs (`type` comes first on the wire, then `v`), written by `encode`. A delta
carries the event as raw JSON (`msgspec.Raw`): a terminal gets it as it stands on the events
stream, a screen its short form (`realtime.screen_form`: what changed, not the whole case).
`docs/live-protocol.md` documents these structs and a test holds the two together.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from incidents.views import CaseView, TaskView
from realtime.cameras import CameraStatusChanged
from realtime.degraded import DegradedNotice, SystemDegraded
from realtime.positions import UNIT_ROW_FIELDS, UnitPosition, UnitRow

PROTOCOL = "live/1"
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
StreamId = Annotated[str, msgspec.Meta(pattern=r"^\d{1,20}-\d{1,20}$")]


class ProtocolError(ValueError):
    """A client message that breaks the protocol; sent back as an error message."""


# --- client → server ------------------------------------------------------------------------


class Subscribe(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """First client message: which jurisdiction to watch and where to resume from."""

    type: Literal["subscribe"]
    scope: Annotated[str, msgspec.Meta(pattern=r"^\d{6,12}$")]
    since: str | None = None
    batch: bool = False  # the client accepts `deltas` messages carrying several deltas
    compact: bool = False  # the client takes the snapshot's cases as rows (`case_rows`)
    kpis: bool = True  # the client takes `kpi.snapshot` events (walls do; consoles do not)
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=256)] | None = None


_subscribe = msgspec.json.Decoder(Subscribe)


def parse_subscribe(raw: str | bytes) -> Subscribe:
    """Validate the subscribe message; raise ProtocolError saying why not."""
    try:
        message = _subscribe.decode(raw)
    except msgspec.MsgspecError as exc:
        raise ProtocolError(f"bad subscribe message: {exc}") from None
    if message.since is not None and not _STREAM_ID.match(message.since):
        raise ProtocolError("bad subscribe message: since must be a stream id like 123-0")
    return message


# --- server → client ------------------------------------------------------------------------


class ServerMessage(msgspec.Struct, frozen=True, gc=False, tag_field="type"):
    """Every server message: its `type` tag, then the protocol version, then its own fields."""

    v: str = PROTOCOL


class DeltaItem(msgspec.Struct, frozen=True, gc=False):
    """One event from the events stream with its stream id."""

    id: str
    event: msgspec.Raw


SnapshotReason = Literal["subscribe", "behind"]


class Snapshot(ServerMessage, tag="snapshot", kw_only=True, frozen=True):
    """The current state in scope, and the stream id it is current to."""

    scope: str
    reason: SnapshotReason
    last_id: str
    cases: list[CaseView]
    units: list[UnitPosition]
    degraded: list[DegradedNotice]
    # For compact clients `cases` is empty and each case is a row of values in the order
    # `case_fields` names: 10,000 cases without their field names repeated (about 40% less).
    case_fields: tuple[str, ...] | None = None
    case_rows: list[tuple[Any, ...]] | None = None


class Replay(ServerMessage, tag="replay", kw_only=True, frozen=True):
    """Exactly the events after `since`, in order, filtered to the scope."""

    since: str
    last_id: str
    deltas: list[DeltaItem]


class Delta(ServerMessage, tag="delta", kw_only=True, frozen=True):
    """One event from the events stream; ids only increase."""

    id: str
    event: msgspec.Raw


class Deltas(ServerMessage, tag="deltas", kw_only=True, frozen=True):
    """Several consecutive deltas in one frame, in order (batch clients only)."""

    deltas: list[DeltaItem]


class Positions(ServerMessage, tag="positions", kw_only=True, frozen=True):
    """The latest position of each unit in scope that moved, as rows named by `fields`."""

    fields: tuple[str, ...] = UNIT_ROW_FIELDS
    units: list[UnitRow]


class Status(ServerMessage, tag="status", kw_only=True, frozen=True):
    """The gateway itself lost Redis: no deltas until it returns."""

    degraded: list[DegradedNotice]


class Error(ServerMessage, tag="error", kw_only=True, frozen=True):
    """The first message broke the protocol or was refused; the connection closes (1008)."""

    reason: str


class Welcome(ServerMessage, tag="welcome", kw_only=True, frozen=True):
    """A field terminal was recognised: its unit and the last message seq accepted from it."""

    terminal_id: str
    unit_id: str
    last_seq: int


class Tasks(ServerMessage, tag="tasks", kw_only=True, frozen=True):
    """A terminal's snapshot: the unit's open assignments."""

    reason: SnapshotReason
    last_id: str
    tasks: list[TaskView]


class Accepted(ServerMessage, tag="accepted", kw_only=True, frozen=True):
    """A terminal message was the next in sequence and is accepted."""

    seq: int
    last_seq: int


class Duplicate(ServerMessage, tag="duplicate", kw_only=True, frozen=True):
    """A terminal message was accepted before: harmless, nothing applied twice."""

    seq: int
    last_seq: int


class Gap(ServerMessage, tag="gap", kw_only=True, frozen=True):
    """A terminal message came early: resend from `last_seq + 1`."""

    seq: int
    last_seq: int


class Rejected(ServerMessage, tag="rejected", kw_only=True, frozen=True):
    """A terminal message broke the protocol; `reason` says how."""

    reason: str


SERVER_MESSAGES: tuple[type[ServerMessage], ...] = (
    Snapshot,
    Replay,
    Delta,
    Deltas,
    Positions,
    Status,
    Error,
    Welcome,
    Tasks,
    Accepted,
    Duplicate,
    Gap,
    Rejected,
)
VERDICTS: dict[str, type[Accepted | Duplicate | Gap]] = {
    "accepted": Accepted,
    "duplicate": Duplicate,
    "gap": Gap,
}

_encoder = msgspec.json.Encoder()


CASE_FIELDS: tuple[str, ...] = CaseView.__struct_fields__


def case_rows(cases: list[CaseView]) -> list[tuple[Any, ...]]:
    """Cases as rows of values in `CASE_FIELDS` order (the compact snapshot's form)."""
    return [msgspec.structs.astuple(case) for case in cases]


def encode(message: ServerMessage) -> bytes:
    """A server message as its UTF-8 JSON frame."""
    return _encoder.encode(message)


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Order stream ids numerically ("ms-seq")."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _names(cls: type[msgspec.Struct]) -> dict[str, str]:
    """A struct's field names, each mapped to itself, for code that looks names up."""
    return {name: name for name in cls.__struct_fields__}


def browser_description() -> dict[str, Any]:
    """What browser code needs to know of live/1, generated from the structs above.

    The page embeds it; the browser looks every message type and field name up here
    (`M.snapshot`, `F.case.severity`) instead of typing it again, and a test checks that
    each name the browser code uses exists.
    """
    messages = {cls.__struct_config__.tag: cls for cls in SERVER_MESSAGES}
    fields: dict[str, dict[str, str]] = {
        str(tag): {"type": "type", **_names(cls)} for tag, cls in messages.items()
    }
    fields["delta_item"] = _names(DeltaItem)
    fields["case"] = _names(CaseView)
    fields["unit"] = _names(UnitPosition)
    fields["degraded"] = _names(DegradedNotice)
    # What every event carries (ARCHITECTURE.md §3), and what the outage events add.
    fields["event"] = {name: name for name in ("schema", "type", "at", "actor", "case_id")}
    fields["event"]["case"] = "case"
    fields["event"]["changes"] = "changes"  # the short form's changed case fields
    fields["system"] = {"type": "type", **_names(SystemDegraded)}
    fields["subscribe"] = _names(Subscribe)
    # What the console reads of a unit's status change (incidents.store.unit_store).
    fields["unit_status"] = {"unit_id": "unit_id", "after": "after", "case_id": "case_id"}
    fields["camera_status"] = _names(CameraStatusChanged)
    return {
        "protocol": PROTOCOL,
        "messages": {str(tag): str(tag) for tag in messages},
        "client_messages": {"subscribe": "subscribe"},
        "fields": fields,
        "unit_row": list(UNIT_ROW_FIELDS),
        "system_events": {"degraded": "system.degraded", "recovered": "system.recovered"},
        # Events the console treats apart: a new case and a linked report are marked for a
        # while; a unit's or a camera's status recolours its marker.
        "event_types": {
            "case_opened": "case.opened",
            "report_linked": "case.report_linked",
            "unit_status": "unit.status_changed",
            "camera_status": str(CameraStatusChanged.__struct_config__.tag),
        },
    }
