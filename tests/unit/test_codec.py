"""The JSON codec: golden documents written by hand, round trips of every event and case."""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents import codec
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
    case_to_row,
    case_to_snapshot,
)
from incidents.events import (
    PAYLOAD_TYPES,
    CaseOpened,
    Event,
    event_from_row,
    event_to_row,
    from_json,
    to_json,
    to_public_json,
    to_public_text,
)
from incidents.vocabulary import Category, Channel, Severity, Step, Tier

COMPACT = {"ensure_ascii": False, "separators": (",", ":")}
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

# Written by hand from the format: envelope, then the payload's fields, flat; times as
# isoformat, enums as their values, non-ASCII kept, no spaces.
GOLDEN_EVENT_JSON = (
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

# Written by hand: one key per field in field order, handlers sorted, tuples as arrays.
GOLDEN_CASE_JSON = (
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


# --- golden documents --------------------------------------------------------------------


def test_an_event_is_written_byte_for_byte_as_the_golden_document() -> None:
    """event_to_row, json.dumps(to_json) and the public text all match the hand-written JSON."""
    assert event_to_row(GOLDEN_EVENT).data == GOLDEN_EVENT_JSON
    assert json.dumps(to_json(GOLDEN_EVENT), **COMPACT) == GOLDEN_EVENT_JSON  # type: ignore[arg-type]
    public = GOLDEN_EVENT_JSON.replace(
        '{"name":"王先生","phone":"13951234567"}', '{"name":"王**","phone":"139****4567"}'
    )
    assert to_public_text(GOLDEN_EVENT) == public
    assert json.dumps(to_public_json(GOLDEN_EVENT), **COMPACT) == public  # type: ignore[arg-type]


def test_the_golden_event_reads_back_as_the_same_event() -> None:
    """from_json and event_from_row rebuild the event, including the +08:00 report time."""
    assert from_json(json.loads(GOLDEN_EVENT_JSON)) == GOLDEN_EVENT
    row = event_to_row(GOLDEN_EVENT)
    assert event_from_row(row) == GOLDEN_EVENT
    read = from_json(json.loads(GOLDEN_EVENT_JSON))
    assert isinstance(read.payload, CaseOpened)
    assert read.payload.reported_at.utcoffset() == timedelta(hours=8)
    assert (row.type, row.step_before, row.step_after) == ("case.opened", None, "intake")


def test_a_case_is_written_byte_for_byte_as_the_golden_document() -> None:
    """The snapshot of a case with every optional part filled is the hand-written JSON."""
    assert case_to_snapshot(GOLDEN_CASE) == GOLDEN_CASE_JSON
    assert case_to_row(GOLDEN_CASE).snapshot == GOLDEN_CASE_JSON
    assert codec.dumps(GOLDEN_CASE) == GOLDEN_CASE_JSON
    assert json.dumps(codec.encode(GOLDEN_CASE), **COMPACT) == GOLDEN_CASE_JSON  # type: ignore[arg-type]


def test_the_golden_case_reads_back_and_its_columns_match() -> None:
    """case_from_row rebuilds the case; every column is the case's value by name."""
    row = case_to_row(GOLDEN_CASE)
    assert case_from_row(row) == GOLDEN_CASE
    assert codec.decode_dataclass(Case, json.loads(GOLDEN_CASE_JSON)) == GOLDEN_CASE
    assert row == row_by_keyword(GOLDEN_CASE, row.snapshot)


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


@functools.cache
def values(tp: object, *, filled: bool = False) -> st.SearchStrategy[Any]:
    """Any value of annotation `tp`; with `filled`, optional parts are never empty."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
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
        int: st.integers(),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=12),
        datetime: st.datetimes(timezones=ZONES),
        timedelta: st.timedeltas(-timedelta(days=36_500), timedelta(days=36_500)),
    }
    if tp in simple:
        return simple[tp]
    assert dataclasses.is_dataclass(tp), tp
    hints = typing.get_type_hints(tp)
    fields = {f.name: values(hints[f.name], filled=filled) for f in dataclasses.fields(tp)}
    return st.builds(tp, **fields)


@functools.cache
def events(payload: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Event]:
    """Events of every type (or with the given payloads)."""
    hints = typing.get_type_hints(Event)
    envelope = {
        f.name: values(hints[f.name]) for f in dataclasses.fields(Event) if f.name != "payload"
    }
    envelope["payload"] = (
        payload if payload is not None else st.one_of(*(values(t) for t in PAYLOAD_TYPES.values()))
    )
    return st.builds(Event, **envelope)


@pytest.mark.parametrize("payload_type", list(PAYLOAD_TYPES.values()), ids=lambda t: t.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_event_type_round_trips(payload_type: type, data: st.DataObject) -> None:
    """to_json / from_json and event_to_row / event_from_row give back the same event."""
    event = data.draw(events(values(payload_type)))
    document = to_json(event)
    text = json.dumps(document, **COMPACT)  # type: ignore[arg-type]
    assert event_to_row(event).data == text
    assert from_json(json.loads(text)) == event
    assert from_json(document) == event
    assert event_from_row(event_to_row(event)) == event
    public = to_public_json(event)
    assert to_public_text(event) == json.dumps(public, **COMPACT)  # type: ignore[arg-type]
    assert public.keys() == document.keys()


@settings(max_examples=60, deadline=None)
@given(case=values(Case, filled=True))
def test_a_case_with_every_part_filled_round_trips(case: Case) -> None:
    """A case with deadline, closure, reporter and several of each part reads back the same."""
    row = case_to_row(case)
    assert row.snapshot == json.dumps(codec.encode(case), **COMPACT)  # type: ignore[arg-type]
    assert case_from_row(row) == case
    assert codec.decode_dataclass(Case, codec.encode(case)) == case


@settings(max_examples=60, deadline=None)
@given(case=values(Case))
def test_any_case_round_trips(case: Case) -> None:
    """Cases with any mix of empty and filled parts read back the same."""
    assert case_from_row(case_to_row(case)) == case


@settings(max_examples=300, deadline=None)
@given(number=st.floats() | st.integers(), address=st.none() | st.text())
def test_numbers_are_written_as_json_dumps_writes_them(number: Any, address: str | None) -> None:
    """Floats outside 1e-4..1e16, NaN, infinities and integers keep json.dumps' spelling."""
    location = Location(number, number, address)
    expected = json.dumps(codec.encode(location), **COMPACT)  # type: ignore[arg-type]
    assert codec.dumps(location) == expected
    if number == number:
        assert codec.loads(expected) == codec.encode(location)


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_any_text_is_escaped_as_json_dumps_escapes_it(text: str) -> None:
    """Control characters, quotes, backslashes and non-ASCII text come out as json.dumps has it."""
    reporter = Reporter(name=text, phone=text)
    assert codec.dumps(reporter) == json.dumps(codec.encode(reporter), **COMPACT)  # type: ignore[arg-type]
    assert codec.decode_dataclass(Reporter, codec.loads(codec.dumps(reporter))) == reporter


# --- what the fast paths hand to the general code ------------------------------------------


def test_a_lone_surrogate_is_written_and_read_as_json_does() -> None:
    """msgspec refuses lone surrogates; the json module's text and reading are kept."""
    reporter = Reporter(name="\ud800", phone="x")
    text = codec.dumps(reporter)
    assert text == json.dumps({"name": "\ud800", "phone": "x"}, **COMPACT)  # type: ignore[arg-type]
    assert codec.loads(text) == {"name": "\ud800", "phone": "x"}
    assert codec.loads('{"a":"\\ud800"}') == json.loads('{"a":"\\ud800"}')


def test_nan_and_huge_numbers_are_read_as_json_loads_reads_them() -> None:
    """NaN, Infinity and numbers beyond a double are what json.loads makes of them."""
    for text in ("[NaN,Infinity,-Infinity]", "[1e400]", "[123456789012345678901234567890]"):
        assert repr(codec.loads(text)) == repr(json.loads(text))
    with pytest.raises(json.JSONDecodeError):
        codec.loads("[1,]")


def test_times_in_other_zones_keep_their_offset_and_naive_times_are_refused() -> None:
    """+08:00 and second offsets are written by isoformat; a naive time is a TypeError."""
    odd = timezone(timedelta(seconds=30))
    for moment in (datetime(2026, 1, 1, tzinfo=BEIJING), datetime(2026, 1, 1, tzinfo=odd)):
        handover = Handover("a", "b", "c", moment, "r")
        assert codec.dumps(handover) == json.dumps(codec.encode(handover), **COMPACT)  # type: ignore[arg-type]
        assert codec.encode(handover)["at"] == moment.isoformat()  # type: ignore[index]
        assert codec.decode_dataclass(Handover, codec.encode(handover)) == handover
    naive = Handover("a", "b", "c", datetime(2026, 1, 1), "r")
    for write in (codec.encode, codec.dumps):
        with pytest.raises(TypeError, match="naive datetimes are not allowed"):
            write(naive)


def test_a_value_of_an_unexpected_type_is_encoded_as_the_general_encoder_does() -> None:
    """An int where a float is annotated, or a str where an enum is, is not converted."""
    location = Location(118, 31)
    assert codec.dumps(location) == '{"lon":118,"lat":31,"address":null}'
    deadline = Deadline("acceptance", at(1, 0), at(2, 0), at(3, 0))  # type: ignore[arg-type]
    assert codec.encode(deadline)["kind"] == "acceptance"  # type: ignore[index]
    counters = HistoryCounters(reopens=Severity.II)
    assert codec.dumps(counters).startswith('{"reopens":2,')


@dataclass(frozen=True, slots=True)
class Node:
    """A dataclass that contains itself."""

    name: str
    children: tuple[Node, ...] = ()
    parent: Node | None = None


def test_a_dataclass_that_contains_itself_round_trips() -> None:
    """Self-reference compiles (the inner level uses the general code) and reads back."""
    tree = Node("root", (Node("a"), Node("b", (Node("c"),))), Node("up"))
    document = codec.encode(tree)
    assert document == {
        "name": "root",
        "children": [
            {"name": "a", "children": [], "parent": None},
            {"name": "b", "children": [{"name": "c", "children": [], "parent": None}],
             "parent": None},
        ],
        "parent": {"name": "up", "children": [], "parent": None},
    }  # fmt: skip
    assert codec.decode_dataclass(Node, document) == tree
    assert codec.decode_dataclass(Node, codec.loads(codec.dumps(tree))) == tree


@dataclass(frozen=True)
class Checked:
    """A dataclass whose __post_init__ validates: it must be built by calling it."""

    count: int

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("negative count")


def test_constructor_fills_slots_only_where_init_would_do_nothing_else() -> None:
    """constructor(cls)(*fields) equals cls(*fields), and runs __post_init__ when there is one."""
    fields = (1, "car-1", AssignmentKind.UNIT, "car", AssignmentStatus.ARRIVED, at(1, 0), "d")
    assert codec.constructor(Assignment)(*fields, None, None, None) == Assignment(*fields)
    assert codec.constructor(Checked)(3) == Checked(3)
    with pytest.raises(ValueError, match="negative count"):
        codec.constructor(Checked)(-1)
    with pytest.raises(ValueError, match="negative count"):
        codec.decode_dataclass(Checked, {"count": -1})


def test_documents_with_missing_defaults_or_other_mappings_take_the_general_path() -> None:
    """An older snapshot without a defaulted key, or a read-only mapping, still decode."""
    document = codec.encode(GOLDEN_CASE)
    assert isinstance(document, dict)
    del document["split_from_case_id"], document["counters"]
    expected = dataclasses.replace(GOLDEN_CASE, split_from_case_id=None, counters=HistoryCounters())
    assert codec.decode_dataclass(Case, document) == expected
    from types import MappingProxyType

    assert codec.decode_dataclass(Location, MappingProxyType({"lon": 1, "lat": 2.5})) == Location(
        1.0, 2.5
    )


@dataclass(frozen=True, slots=True)
class Empty:
    """A dataclass without fields, like the payload of case.rejected."""


def test_a_dataclass_without_fields_encodes_and_decodes() -> None:
    """{} both ways; an unknown key is still refused."""
    assert codec.encode(Empty()) == {} and codec.dumps(Empty()) == "{}"
    assert codec.decode_dataclass(Empty, {}) == Empty()
    with pytest.raises(codec.CodecError, match="unknown fields"):
        codec.decode_dataclass(Empty, {"x": 1})


JSON_PIECES = st.sampled_from(
    [*'[]{}",:0123456789.eE+- \\/\n\t', "\\u", '"a"', "true", "null", "1e5", "NaN", "\x00", "é"]
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(JSON_PIECES, min_size=1, max_size=10))
def test_loads_accepts_and_refuses_what_json_loads_does(pieces: list[str]) -> None:
    """Same data for valid text, the same JSONDecodeError for anything json refuses."""
    text = "".join(pieces)
    try:
        expected: Any = ("ok", repr(json.loads(text)))
    except json.JSONDecodeError as error:
        expected = ("error", str(error))
    try:
        actual: Any = ("ok", repr(codec.loads(text)))
    except json.JSONDecodeError as error:
        actual = ("error", str(error))
    assert actual == expected


def test_fast_replace_equals_dataclasses_replace() -> None:
    """codec.replace builds the same object, refuses unknown fields, and keeps validation."""
    import dataclasses

    from incidents import codec
    from incidents.merging import MergeRule

    changes = {"version": 10, "owner": "duty-c", "report_count": 7}
    assert codec.replace(GOLDEN_CASE, **changes) == dataclasses.replace(GOLDEN_CASE, **changes)
    assert codec.replace(GOLDEN_CASE) == GOLDEN_CASE
    with pytest.raises(TypeError, match="no field"):
        codec.replace(GOLDEN_CASE, nope=1)
    # A class with __post_init__ goes through its __init__, so its checks still run.
    with pytest.raises(ValueError, match="must not be negative"):
        codec.replace(MergeRule(100, timedelta(hours=1)), max_distance_m=-1)
