"""Frozen dataclasses to JSON-safe values and back, driven by their type hints.

The only place domain objects turn into JSON: events (`incidents.events`) and case snapshots
(`incidents.case`) both go through here, so a value written today reads back the same.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeAlias, TypeVar

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"

T = TypeVar("T")


class CodecError(ValueError):
    """A JSON value does not fit the type it should decode to."""


def encode(value: object) -> JsonValue:
    """Turn a domain value (dataclass, enum, datetime, tuple …) into JSON-safe data."""
    if value is None or isinstance(value, bool | str):
        return value
    # Enums first: IntEnum is also an int and must keep its plain value.
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
        return [encode(item) for item in value]
    if isinstance(value, frozenset):
        return [member for member in sorted(str(item) for item in value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_fields(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_fields(value: object) -> JsonObject:
    """Encode a dataclass instance as a JSON object, one key per field."""
    return {field.name: encode(getattr(value, field.name)) for field in _fields(type(value))}


def decode_dataclass(cls: type[T], data: object) -> T:
    """Build `cls` from a JSON object; unknown keys are an error, missing keys need a default."""
    if not isinstance(data, Mapping):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    names = {field.name for field in _fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise CodecError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    kwargs: dict[str, object] = {}
    for field in _fields(cls):
        if field.name in data:
            kwargs[field.name] = decode(hints[field.name], data[field.name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise CodecError(f"{cls.__name__}: missing field {field.name!r}")
    return cls(**kwargs)


def decode(tp: object, data: object) -> object:
    """Decode JSON data into the Python type `tp` (as written in a dataclass annotation)."""
    origin = typing.get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        concrete = [option for option in options if option is not type(None)]
        if len(concrete) != 1:
            raise CodecError(f"unions of several types are not supported: {tp}")
        return decode(concrete[0], data)
    if origin is tuple:
        item_type = typing.get_args(tp)[0]
        return tuple(decode(item_type, item) for item in _as_list(data, tp))
    if origin is frozenset:
        item_type = typing.get_args(tp)[0]
        return frozenset(decode(item_type, item) for item in _as_list(data, tp))
    if not isinstance(tp, type):
        raise CodecError(f"unsupported annotation {tp!r}")
    if data is None:
        raise CodecError(f"{tp.__name__}: null is not allowed here")
    return _decode_plain(tp, data)


def _decode_plain(tp: type, data: object) -> object:
    if issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError as error:
            raise CodecError(str(error)) from error
    if tp is bool:
        if not isinstance(data, bool):
            raise CodecError(f"expected a boolean, got {data!r}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise CodecError(f"expected an integer, got {data!r}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise CodecError(f"expected a number, got {data!r}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise CodecError(f"expected a string, got {data!r}")
        return data
    if tp is datetime:
        if not isinstance(data, str):
            raise CodecError(f"expected an RFC 3339 time, got {data!r}")
        moment = datetime.fromisoformat(data)
        if moment.tzinfo is None:
            raise CodecError(f"time without an offset: {data!r}")
        return moment
    if tp is timedelta:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise CodecError(f"expected a duration in seconds, got {data!r}")
        return timedelta(seconds=data)
    if dataclasses.is_dataclass(tp):
        return decode_dataclass(tp, data)
    raise CodecError(f"unsupported type {tp.__name__}")


def _as_list(data: object, tp: object) -> list[object]:
    if not isinstance(data, list):
        raise CodecError(f"{tp}: expected a list, got {type(data).__name__}")
    return data


# Per-class lookups are cached: decoding walks the same few classes millions of times.
_FIELDS: dict[type, tuple[dataclasses.Field[object], ...]] = {}
_HINTS: dict[type, dict[str, object]] = {}


def _fields(cls: type) -> tuple[dataclasses.Field[object], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = dataclasses.fields(cls)
    return found


def _hints(cls: type) -> dict[str, object]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found
