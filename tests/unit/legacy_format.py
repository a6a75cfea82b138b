"""How events and case snapshots were written before msgspec wrote them (up to Nov 2026).

The hand-written codec this replaces wrote `json.dumps` of a plain encoding: times by
`isoformat()` ("+00:00"), durations as seconds, enums as values, tuples as arrays, sets
sorted, one key per field in field order, events flat (schema, type, envelope, payload).
Rows in that format are in every database that ran it; the tests here write any value that
way and check the current reader gives the same value back.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import msgspec

from incidents.events import EVENT_SCHEMA, Event

COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


def legacy_encode(value: object) -> Any:
    """A domain value as the old codec encoded it."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple):
        return [legacy_encode(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(str(item) for item in value)
    if isinstance(value, msgspec.Struct):
        return {name: legacy_encode(getattr(value, name)) for name in value.__struct_fields__}
    raise TypeError(f"cannot encode {type(value).__name__}")


def legacy_event(event: Event) -> dict[str, Any]:
    """An event as the old codec laid it out: schema, type, envelope, then payload fields."""
    document: dict[str, Any] = {"schema": EVENT_SCHEMA, "type": event.type.value}
    for name in Event.__struct_fields__[:-1]:
        document[name] = legacy_encode(getattr(event, name))
    document.update(legacy_encode(event.payload))
    return document


def legacy_text(document: object) -> str:
    """JSON text as the old codec wrote it."""
    return json.dumps(document, **COMPACT)
