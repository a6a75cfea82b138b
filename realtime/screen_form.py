"""What a screen is sent of a case event: who did what when, and only the case fields it changed.

An events-stream entry carries the whole event and the whole case view after it (about
1.7 KB), which outside subscribers want. A screen already holds every open case in its
scope, so it gets the event's type, time, actor and case id, and either `changes` (the
view fields the command changed) or, for a case new to it, the whole `case`. The parts are
copied as raw JSON: nothing is decoded into Python values and encoded again.
"""

from __future__ import annotations

import msgspec

_NONE = msgspec.Raw(b"")  # a member the entry does not have


class _Parts(msgspec.Struct, gc=False):
    """The members of an event a screen may need, each as it stands in the entry."""

    type: msgspec.Raw = _NONE
    at: msgspec.Raw = _NONE
    actor: msgspec.Raw = _NONE
    case_id: msgspec.Raw = _NONE
    case: msgspec.Raw = _NONE
    changes: msgspec.Raw = _NONE


_parts = msgspec.json.Decoder(_Parts)
# The short form's members in order; `changes` or else `case` ends it (docs/live-protocol.md).
_HEAD = (b'{"type":', b',"at":', b',"actor":', b',"case_id":')


def screen_event(raw: bytes) -> bytes:
    """The screen form of an events-stream entry; anything but a case event as it is."""
    try:
        parts = _parts.decode(raw)
    except msgspec.DecodeError:
        return raw
    if not parts.case or not parts.type:
        return raw  # unit, camera, plan, system events: small, and screens read them whole
    members = [parts.type, parts.at or b"null", parts.actor or b"null", parts.case_id or b"null"]
    out = b"".join(key + bytes(value) for key, value in zip(_HEAD, members, strict=True))
    if parts.changes:
        return out + b',"changes":' + bytes(parts.changes) + b"}"
    return out + b',"case":' + bytes(parts.case) + b"}"
