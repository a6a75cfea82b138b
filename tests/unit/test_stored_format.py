"""How events and cases are stored: golden documents, old rows, round trips of every shape.

The event log and the case snapshots are written by msgspec (`incidents.events`,
`incidents.case`). Rows written before, by the hand-written codec, must still read: the
documents it wrote for the golden event and case are kept here, and any value written its
way (`tests.unit.legacy_format`) must read back as the same value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.case import (
    Assignment,
    AssignmentKind,
    AssignmentStatus,
    Case,
    CaseRow,
    CaseStatus,
    Closure,
    Deadline,
    DeadlineKind,
    Feedback,
    ForcesRequest,
    Handover,
    HistoryCounters,
    Jurisdiction,
    Location,
    Reporter,
    Satisfaction,
    case_from_row,
    case_from_snapshot,
    case_to_row,
    case_to_snapshot,
)
from incidents.events import (
    ENVELOPE_FIELDS,
    PAYLOAD_TYPES,
    CaseOpened,
    CaseOverdue,
    Event,
    EventDecodeError,
    event_from_json,
    event_from_row,
    event_json,
    event_to_row,
    join_objects,
    public_event_json,
)
from incidents.vocabulary import Category, Channel, Severity, Step, Tier
from tests.unit.legacy_format import legacy_encode, legacy_event, legacy_text

BEIJING = timezone(timedelta(hours=8))


def at(hour: int, minute: int, second: int = 0, microsecond: int = 0) -> datetime:
    """A UTC time on 26 November 2026."""
    return datetime(2026, 11, 26, hour, minute, second, microsecond, tzinfo=UTC)


GOLDEN_EVENT = Event(
    case_id=7,
    case_no="320118-20261126-0007",
    seq=1,
    version=1,
    at=at(13, 14, 5, 250000),
    actor="system:ingest",
    reason=None,
    causation_id="110-20261126-000107",
    step_before=None,
    step_after=Step.INTAKE,
    status_after=CaseStatus.OPEN,
    deadline=Deadline(
        kind=DeadlineKind.ACCEPTANCE,
        started_at=at(13, 14, 5, 250000),
        due_at=at(13, 16, 5, 250000),
        warn_at=at(13, 15, 41, 250000),
    ),
    payload=CaseOpened(
        source_id="110-20261126-000107",
        channel=Channel.POLICE_110,
        category=Category.DISPUTE,
        severity=Severity.III,
        summary='邻里纠纷，称"噪音"\\扰民\n第二行',
        location=Location(118.8747, 31.3246, "淳溪街道 老街"),
        reporter=Reporter(name="王先生", phone="13951234567"),
        reported_at=datetime(2026, 11, 26, 21, 13, 58, tzinfo=BEIJING),
        jurisdiction=Jurisdiction(county_code="320118", township_code="320118001"),
        owning_tier=Tier.COUNTY,
        owning_org="320118",
    ),
)

# As the hand-written codec stored it before msgspec (tests/unit/legacy_format.py): times by
# isoformat, enums as their values, non-ASCII kept, no spaces.
LEGACY_EVENT_JSON = (
    '{"schema":"event/1","type":"case.opened","case_id":7,"case_no":"320118-20261126-0007",'
    '"seq":1,"version":1,"at":"2026-11-26T13:14:05.250000+00:00","actor":"system:ingest",'
    '"reason":null,"causation_id":"110-20261126-000107","step_before":null,'
    '"step_after":"intake","status_after":"open","deadline":{"kind":"acceptance",'
    '"started_at":"2026-11-26T13:14:05.250000+00:00",'
    '"due_at":"2026-11-26T13:16:05.250000+00:00",'
    '"warn_at":"2026-11-26T13:15:41.250000+00:00","overdue_recorded":false},'
    '"source_id":"110-20261126-000107","channel":"110","category":"dispute","severity":3,'
    r'"summary":"邻里纠纷，称\"噪音\"\\扰民\n第二行",'
    '"location":{"lon":118.8747,"lat":31.3246,"address":"淳溪街道 老街"},'
    '"reporter":{"name":"王先生","phone":"13951234567"},'
    '"reported_at":"2026-11-26T21:13:58+08:00",'
    '"jurisdiction":{"county_code":"320118","township_code":"320118001","village_code":null,'
    '"grid_code":null,"inside_county":true},"owning_tier":"county","owning_org":"320118",'
    '"split_from_case_id":null}'
)

GOLDEN_CASE = Case(
    case_id=41,
    case_no="320118-20261126-0041",
    source_id="12345-20261126-000041",
    channel=Channel.HOTLINE_12345,
    category=Category.PUBLIC_SERVICE,
    severity=Severity.IV,
    summary="路灯不亮",
    location=Location(118.0, 31.5),
    reporter=Reporter(phone="025-12345"),
    reported_at=at(8, 0),
    opened_at=at(8, 0, 1),
    jurisdiction=Jurisdiction("320118", "320118002", "320118002003", "320118002003-01"),
    owning_tier=Tier.TOWNSHIP,
    owning_org="320118002",
    step=Step.VERIFY,
    status=CaseStatus.OPEN,
    step_entered_at=at(9, 30),
    deadline=Deadline(DeadlineKind.VERIFICATION, at(9, 30), at(10, 30), at(10, 15), True),
    version=9,
    last_seq=12,
    owner="duty-b",
    accepted_by="duty-a",
    accepted_at=at(8, 1),
    assignments=(
        Assignment(
            assignment_no=1,
            unit_id="dept-lights",
            kind=AssignmentKind.DEPARTMENT,
            name="路灯所",
            status=AssignmentStatus.COMPLETED,
            dispatched_at=at(8, 5),
            dispatched_by="duty-b",
            acknowledged_at=at(8, 6),
            finished_at=at(9, 30),
        ),
    ),
    feedback=(
        Feedback(
            1,
            "dept-lights",
            "已更换灯泡",
            ("photo/1.jpg", "photo/2.jpg"),
            True,
            "worker-7",
            at(9, 30),
            0,
        ),
    ),
    handlers=frozenset({"worker-7", "dept-lights"}),
    handovers=(Handover("duty-a", "duty-b", "lead-1", at(8, 3), "换班"),),
    forces_requests=(ForcesRequest(None, "梯车", "worker-7", at(8, 40, 0, 7)),),
    report_count=2,
    latest_report_at=at(8, 10),
    verified_by="verifier",
    verified_at=at(9, 45),
    resolution_tier=Tier.TOWNSHIP,
    closure=Closure(
        outcome=CaseStatus.ARCHIVED,
        at=at(10, 0),
        by="duty-b",
        satisfaction=Satisfaction.SATISFIED,
        comment="好",
        resolution_tier=Tier.TOWNSHIP,
    ),
    counters=HistoryCounters(reopens=1, handovers=1, forces_requests=1),
    split_from_case_id=40,
)

# As the hand-written codec stored it: one key per field in field order, handlers sorted.
LEGACY_CASE_JSON = (
    '{"case_id":41,"case_no":"320118-20261126-0041","source_id":"12345-20261126-000041",'
    '"channel":"12345","category":"public_service","severity":4,"summary":"路灯不亮",'
    '"location":{"lon":118.0,"lat":31.5,"address":null},'
    '"reporter":{"name":null,"phone":"025-12345"},'
    '"reported_at":"2026-11-26T08:00:00+00:00","opened_at":"2026-11-26T08:00:01+00:00",'
    '"jurisdiction":{"county_code":"320118","township_code":"320118002",'
    '"village_code":"320118002003","grid_code":"320118002003-01","inside_county":true},'
    '"owning_tier":"township","owning_org":"320118002","step":"verify","status":"open",'
    '"step_entered_at":"2026-11-26T09:30:00+00:00",'
    '"deadline":{"kind":"verification","started_at":"2026-11-26T09:30:00+00:00",'
    '"due_at":"2026-11-26T10:30:00+00:00","warn_at":"2026-11-26T10:15:00+00:00",'
    '"overdue_recorded":true},"version":9,"last_seq":12,"owner":"duty-b",'
    '"accepted_by":"duty-a","accepted_at":"2026-11-26T08:01:00+00:00",'
    '"assignments":[{"assignment_no":1,"unit_id":"dept-lights","kind":"department",'
    '"name":"路灯所","status":"completed","dispatched_at":"2026-11-26T08:05:00+00:00",'
    '"dispatched_by":"duty-b","acknowledged_at":"2026-11-26T08:06:00+00:00",'
    '"arrived_at":null,"finished_at":"2026-11-26T09:30:00+00:00"}],'
    '"feedback":[{"assignment_no":1,"unit_id":"dept-lights","text":"已更换灯泡",'
    '"photos":["photo/1.jpg","photo/2.jpg"],"completed":true,"by":"worker-7",'
    '"at":"2026-11-26T09:30:00+00:00","handling_round":0}],'
    '"handlers":["dept-lights","worker-7"],'
    '"handovers":[{"from_owner":"duty-a","to_owner":"duty-b","by":"lead-1",'
    '"at":"2026-11-26T08:03:00+00:00","reason":"换班"}],'
    '"forces_requests":[{"unit_id":null,"needed":"梯车","by":"worker-7",'
    '"at":"2026-11-26T08:40:00.000007+00:00"}],'
    '"report_count":2,"latest_report_at":"2026-11-26T08:10:00+00:00","verified_by":"verifier",'
    '"verified_at":"2026-11-26T09:45:00+00:00","resolution_tier":"township",'
    '"closure":{"outcome":"archived","at":"2026-11-26T10:00:00+00:00","by":"duty-b",'
    '"reason":null,"satisfaction":"satisfied","comment":"好","resolution_tier":"township",'
    '"merged_into_case_id":null,"merged_into_case_no":null},'
    '"counters":{"reopens":1,"escalations":0,"auto_escalations":0,"hand_downs":0,'
    '"handovers":1,"overdue":0,"forces_requests":1},"split_from_case_id":40}'
)


# Written by hand from the format: `type` (msgspec writes the tag first), `schema`, the
# envelope, then the payload's fields, flat; times in RFC 3339 with "Z" for UTC and the
# report's own offset kept; enums as their values; non-ASCII kept; no spaces.
GOLDEN_EVENT_JSON = (
    '{"type":"case.opened","schema":"event/1","case_id":7,"case_no":"320118-20261126-0007",'
    '"seq":1,"version":1,"at":"2026-11-26T13:14:05.250000Z","actor":"system:ingest",'
    '"reason":null,"causation_id":"110-20261126-000107","step_before":null,'
    '"step_after":"intake","status_after":"open","deadline":{"kind":"acceptance",'
    '"started_at":"2026-11-26T13:14:05.250000Z","due_at":"2026-11-26T13:16:05.250000Z",'
    '"warn_at":"2026-11-26T13:15:41.250000Z","overdue_recorded":false},'
    '"source_id":"110-20261126-000107","channel":"110","category":"dispute","severity":3,'
    r'"summary":"邻里纠纷，称\"噪音\"\\扰民\n第二行",'
    '"location":{"lon":118.8747,"lat":31.3246,"address":"淳溪街道 老街"},'
    '"reporter":{"name":"王先生","phone":"13951234567"},'
    '"reported_at":"2026-11-26T21:13:58+08:00",'
    '"jurisdiction":{"county_code":"320118","township_code":"320118001","village_code":null,'
    '"grid_code":null,"inside_county":true},"owning_tier":"county","owning_org":"320118",'
    '"split_from_case_id":null}'
)

# The same case as msgspec writes it: one key per field in field order, "Z" for UTC, the
# handlers sorted (the encoder's deterministic order), tuples as arrays.
GOLDEN_CASE_JSON = LEGACY_CASE_JSON.replace("+00:00", "Z")


# --- golden documents --------------------------------------------------------------------


def test_an_event_is_written_byte_for_byte_as_the_golden_document() -> None:
    """The log row and the public text match the hand-written JSON (public: reporter masked)."""
    assert event_json(GOLDEN_EVENT).decode() == GOLDEN_EVENT_JSON
    assert event_to_row(GOLDEN_EVENT).data == GOLDEN_EVENT_JSON
    public = GOLDEN_EVENT_JSON.replace(
        '{"name":"王先生","phone":"13951234567"}', '{"name":"王**","phone":"139****4567"}'
    )
    assert public != GOLDEN_EVENT_JSON
    assert public_event_json(GOLDEN_EVENT).decode() == public


def test_the_golden_event_reads_back_as_the_same_event() -> None:
    """event_from_json and event_from_row rebuild the event, including the +08:00 report time."""
    assert event_from_json(GOLDEN_EVENT_JSON) == GOLDEN_EVENT
    row = event_to_row(GOLDEN_EVENT)
    assert event_from_row(row) == GOLDEN_EVENT
    read = event_from_json(GOLDEN_EVENT_JSON)
    assert isinstance(read.payload, CaseOpened)
    assert read.payload.reported_at.utcoffset() == timedelta(hours=8)
    assert (row.type, row.step_before, row.step_after) == ("case.opened", None, "intake")


def test_a_case_is_written_byte_for_byte_as_the_golden_document() -> None:
    """The snapshot of a case with every optional part filled is the hand-written JSON."""
    assert '"handlers":["dept-lights","worker-7"]' in GOLDEN_CASE_JSON
    assert case_to_snapshot(GOLDEN_CASE) == GOLDEN_CASE_JSON
    assert case_to_row(GOLDEN_CASE).snapshot == GOLDEN_CASE_JSON


def test_the_golden_case_reads_back_and_its_columns_match() -> None:
    """case_from_row rebuilds the case; every column is the case's value by name."""
    row = case_to_row(GOLDEN_CASE)
    assert case_from_row(row) == GOLDEN_CASE
    assert case_from_snapshot(GOLDEN_CASE_JSON) == GOLDEN_CASE
    assert row == row_by_keyword(GOLDEN_CASE, row.snapshot)


def test_rows_written_by_the_old_codec_read_as_the_same_event_and_case() -> None:
    """The documents the hand-written codec stored for the golden values still read back."""
    assert legacy_text(legacy_event(GOLDEN_EVENT)) == LEGACY_EVENT_JSON
    assert legacy_text(legacy_encode(GOLDEN_CASE)) == LEGACY_CASE_JSON
    assert event_from_json(LEGACY_EVENT_JSON) == GOLDEN_EVENT
    assert case_from_snapshot(LEGACY_CASE_JSON) == GOLDEN_CASE


def test_an_old_overdue_event_with_its_duration_in_seconds_reads_back() -> None:
    """The old codec wrote `overdue_by` as seconds; msgspec writes ISO 8601; both read."""
    event = msgspec.structs.replace(
        GOLDEN_EVENT,
        payload=CaseOverdue(
            DeadlineKind.ACCEPTANCE, at(13, 16, 5), timedelta(minutes=3, seconds=2)
        ),
    )
    old = legacy_text(legacy_event(event))
    assert '"overdue_by":182.0' in old
    assert '"overdue_by":"PT182S"' in event_json(event).decode()
    assert event_from_json(old) == event == event_from_json(event_json(event))


def row_by_keyword(case: Case, snapshot: str) -> CaseRow:
    """The row as a keyword call spells it out, to catch a column in the wrong place."""
    deadline, closure = case.deadline, case.closure
    return CaseRow(
        case_id=case.case_id,
        case_no=case.case_no,
        source_id=case.source_id,
        channel=case.channel.value,
        category=case.category.value,
        severity=int(case.severity),
        status=case.status.value,
        step=case.step.value,
        owning_tier=case.owning_tier.value,
        owning_org=case.owning_org,
        owner=case.owner,
        county_code=case.jurisdiction.county_code,
        township_code=case.jurisdiction.township_code,
        village_code=case.jurisdiction.village_code,
        grid_code=case.jurisdiction.grid_code,
        inside_county=case.jurisdiction.inside_county,
        lon=case.location.lon,
        lat=case.location.lat,
        reported_at=case.reported_at,
        opened_at=case.opened_at,
        last_report_at=case.last_report_at,
        deadline_kind=deadline.kind.value if deadline else None,
        deadline_started_at=deadline.started_at if deadline else None,
        deadline_at=deadline.due_at if deadline else None,
        deadline_warn_at=deadline.warn_at if deadline else None,
        overdue_recorded=deadline.overdue_recorded if deadline else False,
        reopen_count=case.counters.reopens,
        overdue_count=case.counters.overdue,
        resolution_tier=case.resolution_tier.value if case.resolution_tier else None,
        satisfaction=(
            closure.satisfaction.value if closure and closure.satisfaction is not None else None
        ),
        closed_at=closure.at if closure else None,
        version=case.version,
        last_seq=case.last_seq,
        snapshot=snapshot,
    )


# --- round trips of generated values -----------------------------------------------------

ZONES = st.sampled_from([UTC, BEIJING, timezone(timedelta(hours=-3, minutes=-30))])
_STRATEGIES: dict[object, st.SearchStrategy[Any]] = {}


def values(tp: object, *, filled: bool = False) -> st.SearchStrategy[Any]:
    """Any value of annotation `tp`; with `filled`, optional parts are never empty."""
    key = (tp, filled)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = st.deferred(lambda: _values(tp, filled))
    return _STRATEGIES[key]


def _values(tp: object, filled: bool) -> st.SearchStrategy[Any]:
    import typing

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return values(args[0], filled=filled)
    if type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        present = values(inner, filled=filled)
        return present if filled else st.none() | present
    if origin is tuple:
        return st.lists(values(args[0], filled=filled), min_size=int(filled), max_size=3).map(tuple)
    if origin is frozenset:
        return st.frozensets(values(args[0], filled=filled), min_size=int(filled), max_size=4)
    assert isinstance(tp, type), tp
    if issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    simple: dict[type, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(-(2**63), 2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=12),
        datetime: st.datetimes(timezones=ZONES),
        timedelta: st.timedeltas(-timedelta(days=36_500), timedelta(days=36_500)),
    }
    if tp in simple:
        return simple[tp]
    assert issubclass(tp, msgspec.Struct), tp
    fields = {f.name: values(f.type, filled=filled) for f in msgspec.structs.fields(tp)}
    return st.builds(tp, **fields)


def events(payload: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Event]:
    """Events of every type (or with the given payloads)."""
    envelope = {f.name: values(f.type) for f in msgspec.structs.fields(Event)[:-1]}
    envelope["payload"] = (
        payload if payload is not None else st.one_of(*(values(t) for t in PAYLOAD_TYPES.values()))
    )
    return st.builds(Event, **envelope)


@pytest.mark.parametrize("payload_type", list(PAYLOAD_TYPES.values()), ids=lambda t: t.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_event_type_round_trips_and_reads_from_old_rows(
    payload_type: type, data: st.DataObject
) -> None:
    """event_json / event_from_json, the log row, and the old codec's text: the same event."""
    event = data.draw(events(values(payload_type)))
    text = event_json(event)
    assert event_from_json(text) == event
    assert event_from_row(event_to_row(event)) == event
    assert event_from_json(legacy_text(legacy_event(event))) == event
    assert list(json.loads(text)) == list(legacy_event(event))[1::-1] + list(
        ENVELOPE_FIELDS[2:]
    ) + [f for f in payload_type.__struct_fields__]
    public = json.loads(public_event_json(event))
    assert public.keys() == json.loads(text).keys()


@settings(max_examples=60, deadline=None)
@given(case=values(Case, filled=True))
def test_a_case_with_every_part_filled_round_trips(case: Case) -> None:
    """A case with deadline, closure, reporter and several of each part reads back the same."""
    row = case_to_row(case)
    assert case_from_row(row) == case
    assert case_from_snapshot(legacy_text(legacy_encode(case))) == case


@settings(max_examples=60, deadline=None)
@given(case=values(Case))
def test_any_case_round_trips_and_reads_from_old_rows(case: Case) -> None:
    """Cases with any mix of empty and filled parts read back the same, old rows too."""
    assert case_from_row(case_to_row(case)) == case
    assert case_from_snapshot(legacy_text(legacy_encode(case))) == case


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_any_text_round_trips(text: str) -> None:
    """Control characters, quotes, backslashes and any Unicode are kept exactly."""
    reporter = Reporter(name=text, phone=text)
    event = msgspec.structs.replace(
        GOLDEN_EVENT,
        actor=text,
        payload=msgspec.structs.replace(GOLDEN_EVENT.payload, summary=text, reporter=reporter),
    )
    assert event_from_json(event_json(event)) == event
    assert json.loads(event_json(event))["summary"] == text


def test_the_same_case_is_always_the_same_text() -> None:
    """Sets are written sorted, so a snapshot does not depend on the process's hash seed."""
    many = msgspec.structs.replace(GOLDEN_CASE, handlers=frozenset(f"h{n}" for n in range(50)))
    text = case_to_snapshot(many)
    assert json.loads(text)["handlers"] == sorted(f"h{n}" for n in range(50))


def test_join_objects_concatenates_members_in_order() -> None:
    """{"a":1} + {} + {"b":{"c":2}} is one object; an event keeps its members after the id."""
    assert join_objects([b'{"a":1}', b"{}", b'{"b":{"c":2}}']) == b'{"a":1,"b":{"c":2}}'
    assert join_objects([b"{}", b"{}"]) == b"{}"
    joined = json.loads(join_objects([b'{"event_id":9}', event_json(GOLDEN_EVENT)]))
    assert list(joined)[:3] == ["event_id", "type", "schema"]


def test_malformed_event_documents_are_refused() -> None:
    """Wrong schema, unknown type or field, a missing or mistyped field: EventDecodeError."""
    good = json.loads(event_json(GOLDEN_EVENT))
    for broken in (
        {**good, "schema": "event/0"},
        {**good, "type": "case.exploded"},
        {**good, "surprise": 1},
        {k: v for k, v in good.items() if k != "actor"},
        {**good, "at": "2026-11-26T13:14:05"},
        {**good, "severity": "1"},
        [1, 2],
    ):
        with pytest.raises(EventDecodeError):
            event_from_json(json.dumps(broken))
    with pytest.raises(EventDecodeError):
        event_from_json(b"{not json")
