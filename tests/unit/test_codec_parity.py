"""The compiled codec against the plain one it replaced: same text, same values, same errors.

`reference_*` below is the codec as it was before it was compiled (type hints walked on every
call, the json module for text); it is the specification the fast code must meet.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from incidents import codec
from incidents.case import Case, Location, case_from_snapshot, case_to_row, case_to_snapshot
from incidents.codec import CodecError
from incidents.events import (
    ENVELOPE_FIELDS,
    EVENT_SCHEMA,
    PAYLOAD_TYPES,
    CaseOpened,
    Event,
    EventRow,
    EventType,
    ReportLinked,
    event_from_row,
    event_to_row,
    from_json,
    to_json,
    to_public_json,
    to_public_text,
)
from incidents.vocabulary import Severity, Step
from tests.unit.test_codec import ZONES, events, row_by_keyword, values

COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


# --- the reference: the codec before compilation ---------------------------------------------


def reference_encode(value: object) -> Any:
    """encode() as it was."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        raw = value.value
        if isinstance(raw, bool | int | float | str):
            return raw
        raise TypeError(f"enum {type(value).__name__} has a non-JSON value")
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes are not allowed; pass aware (UTC) times")
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple):
        return [reference_encode(item) for item in value]
    if isinstance(value, frozenset):
        return [member for member in sorted(str(item) for item in value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return reference_encode_fields(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def reference_encode_fields(value: object) -> dict[str, Any]:
    """encode_fields() as it was."""
    return {f.name: reference_encode(getattr(value, f.name)) for f in dataclasses.fields(value)}  # type: ignore[arg-type]


def reference_decode_dataclass(cls: type, data: object) -> Any:
    """decode_dataclass() as it was."""
    if not isinstance(data, Mapping):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise CodecError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = reference_decode(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{cls.__name__}: missing field {f.name!r}")
    return cls(**kwargs)


def reference_decode(tp: Any, data: Any) -> Any:
    """decode() as it was."""
    origin = typing.get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        concrete = [option for option in options if option is not type(None)]
        if len(concrete) != 1:
            raise CodecError(f"unions of several types are not supported: {tp}")
        return reference_decode(concrete[0], data)
    if origin in (tuple, frozenset):
        if not isinstance(data, list):
            raise CodecError(f"{tp}: expected a list, got {type(data).__name__}")
        return origin(reference_decode(typing.get_args(tp)[0], item) for item in data)
    if data is None:
        raise CodecError(f"{tp.__name__}: null is not allowed here")
    if issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError as error:
            raise CodecError(str(error)) from error
    checks: dict[type, tuple[Callable[[Any], bool], str]] = {
        bool: (lambda d: isinstance(d, bool), "a boolean"),
        int: (lambda d: isinstance(d, int) and not isinstance(d, bool), "an integer"),
        float: (lambda d: isinstance(d, int | float) and not isinstance(d, bool), "a number"),
        str: (lambda d: isinstance(d, str), "a string"),
        datetime: (lambda d: isinstance(d, str), "an RFC 3339 time"),
        timedelta: (lambda d: isinstance(d, int | float) and not isinstance(d, bool), ""),
    }
    if tp in checks:
        ok, expected = checks[tp]
        if not ok(data):
            if tp is timedelta:
                raise CodecError(f"expected a duration in seconds, got {data!r}")
            raise CodecError(f"expected {expected}, got {data!r}")
        if tp is float:
            return float(data)
        if tp is datetime:
            moment = datetime.fromisoformat(data)
            if moment.tzinfo is None:
                raise CodecError(f"time without an offset: {data!r}")
            return moment
        if tp is timedelta:
            return timedelta(seconds=data)
        return data
    return reference_decode_dataclass(tp, data)


def reference_to_json(event: Event) -> dict[str, Any]:
    """to_json() as it was."""
    document = {
        "schema": EVENT_SCHEMA,
        "type": event.type.value,
        "case_id": event.case_id,
        "case_no": event.case_no,
        "seq": event.seq,
        "version": event.version,
        "at": reference_encode(event.at),
        "actor": event.actor,
        "reason": event.reason,
        "causation_id": event.causation_id,
        "step_before": reference_encode(event.step_before),
        "step_after": reference_encode(event.step_after),
        "status_after": reference_encode(event.status_after),
        "deadline": reference_encode(event.deadline),
    }
    document.update(reference_encode_fields(event.payload))
    return document


def reference_to_public_json(event: Event) -> dict[str, Any]:
    """to_public_json() as it was."""
    payload = event.payload
    if isinstance(payload, CaseOpened | ReportLinked) and payload.reporter is not None:
        masked = dataclasses.replace(payload, reporter=payload.reporter.masked())
        event = dataclasses.replace(event, payload=masked)
    return reference_to_json(event)


def reference_from_json(data: Mapping[str, Any]) -> Event:
    """from_json() as it was."""
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
    hints = typing.get_type_hints(Event)
    envelope = {name: reference_decode(hints[name], data[name]) for name in ENVELOPE_FIELDS[2:]}
    payload = reference_decode_dataclass(payload_type, payload_data)
    return Event(**envelope, payload=payload)


def reference_text(document: Any) -> str:
    """JSON text as the event log and case snapshots were written."""
    return json.dumps(document, **COMPACT)


# --- comparing outcomes ------------------------------------------------------------------


def outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """("ok", the result as text) or ("error", exception type, message)."""
    try:
        result = run()
    except Exception as error:
        return ("error", type(error).__name__, str(error))
    if isinstance(result, str):
        return ("ok", result)
    if dataclasses.is_dataclass(result):
        result = reference_encode(result)
    return ("ok", json.dumps(result, default=repr, **COMPACT))


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (dict keys and list items), the root first."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64),
    st.floats(),
    st.text(max_size=4),
    st.sampled_from(
        [
            "2026-11-26T13:14:05",
            "2026-11-26T13:14:05z",
            "2026-11-26T13:14:05.1234567+00:00",
            "2026-11-26T13:14:05+00:00",
            "2026-11-26 13:14:05+08:00",
            "not a time",
            "intake",
            "grid",
            "open",
            "case.opened",
            "1",
        ]
    ),
    st.lists(st.integers() | st.text(max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """`document` (a fresh copy) with one key dropped, one added, or one value replaced."""
    document = json.loads(json.dumps(document))
    path = draw(st.sampled_from(paths(document)))
    target = document
    for step in path[:-1]:
        target = target[step]
    action = draw(st.sampled_from(["drop", "add", "replace"]))
    if not path:
        return draw(JUNK) if action == "replace" else document
    if action == "drop" and isinstance(target, dict):
        del target[path[-1]]
    elif action == "add" and isinstance(target, dict):
        target[draw(st.text(max_size=8))] = draw(JUNK)
    else:
        target[path[-1]] = draw(JUNK)
    return document


# --- the tests ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(event=events())
def test_events_are_written_exactly_as_before(event: Event) -> None:
    """to_json, to_public_json and the log text equal the plain codec's, byte for byte."""
    expected = reference_to_json(event)
    assert to_json(event) == expected
    assert list(to_json(event)) == list(expected)
    assert event_to_row(event) == EventRow(
        case_id=event.case_id,
        seq=event.seq,
        version=event.version,
        type=event.type.value,
        at=event.at,
        actor=event.actor,
        reason=event.reason,
        causation_id=event.causation_id,
        step_before=event.step_before.value if event.step_before else None,
        step_after=event.step_after.value,
        data=reference_text(expected),
    )
    public = reference_to_public_json(event)
    assert to_public_json(event) == public
    assert to_public_text(event) == reference_text(public)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_event_documents_read_as_before_even_when_broken(data: st.DataObject) -> None:
    """from_json on a document with a key dropped, added or changed: same event or error."""
    document = data.draw(mutated(reference_to_json(data.draw(events()))))
    assert outcome(lambda: from_json(document)) == outcome(lambda: reference_from_json(document))
    row = EventRow(1, 1, 1, "t", datetime.now(UTC), "a", None, None, None, "s", "")
    row = dataclasses.replace(row, data=json.dumps(document))
    expected = outcome(lambda: reference_from_json(json.loads(row.data)))
    if not (isinstance(document, dict)):
        expected = ("error", "CodecError", "event row data is not a JSON object")
    assert outcome(lambda: event_from_row(row)) == expected


@settings(max_examples=300, deadline=None)
@given(case=values(Case))
def test_cases_are_written_exactly_as_before(case: Case) -> None:
    """The snapshot and encode(case) equal the plain codec's."""
    expected = reference_encode(case)
    assert codec.encode(case) == expected
    assert case_to_snapshot(case) == reference_text(expected)
    assert case_to_row(case) == row_by_keyword(case, reference_text(expected))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_case_snapshots_read_as_before_even_when_broken(data: st.DataObject) -> None:
    """decode_dataclass(Case, …) on a broken snapshot: the same case or the same error."""
    document = data.draw(mutated(reference_encode(data.draw(values(Case)))))
    expected = outcome(lambda: reference_decode_dataclass(Case, document))
    assert outcome(lambda: codec.decode_dataclass(Case, document)) == expected
    text = json.dumps(document)
    assert outcome(lambda: case_from_snapshot(text)) == expected


def guarded_fields(cls: type) -> list[str]:
    """Fields whose compiled encoder checks the runtime type (the rest pass values through)."""
    names = []
    for name, hint in typing.get_type_hints(cls).items():
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = typing.get_origin(hint) in (types.UnionType, typing.Union)
        inner = options[0] if optional and len(options) == 1 else hint
        collection = typing.get_origin(inner) in (tuple, frozenset)
        checked = inner in (datetime, timedelta, Severity) or dataclasses.is_dataclass(inner)
        if collection or checked:
            names.append(name)
    return names


ODD_VALUES = JUNK | st.one_of(
    st.datetimes(),
    st.datetimes(timezones=ZONES | st.just(timezone(timedelta(seconds=-30)))),
    st.timedeltas(),
    st.sampled_from([Step.INTAKE, Severity.II]),
    st.lists(st.integers(), max_size=2).map(tuple),
    st.frozensets(st.integers() | st.text(max_size=2), max_size=3),
    st.builds(Location, st.floats(), st.floats()),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_unexpected_values_in_checked_fields_encode_as_before(data: st.DataObject) -> None:
    """A naive time, an int for a tuple, a Location for a time …: same document or error."""
    cls = data.draw(st.sampled_from([Case, *PAYLOAD_TYPES.values()]))
    value = data.draw(values(cls))
    fields = guarded_fields(cls)
    if fields:
        value = dataclasses.replace(
            value, **{data.draw(st.sampled_from(fields)): data.draw(ODD_VALUES)}
        )
    expected = outcome(lambda: reference_text(reference_encode(value)))
    assert outcome(lambda: reference_text(codec.encode(value))) == expected
    assert outcome(lambda: codec.dumps(value)) == expected
