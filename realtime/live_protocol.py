"""The live/1 push protocol: validated client messages and the server messages sent back."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

PROTOCOL = "live/1"
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class ProtocolError(ValueError):
    """A client message that breaks the protocol; sent back as an error message."""


class Subscribe(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """First client message: which jurisdiction to watch and where to resume from."""

    type: Literal["subscribe"]
    scope: Annotated[str, msgspec.Meta(pattern=r"^\d{6,12}$")]
    since: str | None = None
    batch: bool = False  # the client accepts `deltas` messages carrying several deltas
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


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Order stream ids numerically ("ms-seq")."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def scope_prefix(scope: str) -> str:
    """A jurisdiction code as a prefix of its descendants' codes (320118001000 → 320118001)."""
    trimmed = scope
    while len(trimmed) > 6 and trimmed.endswith("000"):
        trimmed = trimmed[:-3]
    return trimmed


def encode(message: dict[str, Any]) -> str:
    """Serialise a server message (compact, UTF-8 kept)."""
    return msgspec.json.encode({"v": PROTOCOL, **message}).decode()
