"""The move names of the buttons on one unit's or one report's row of the case panel."""

from __future__ import annotations

import json

from incidents.lifecycle import Move

# A row button's move: the lifecycle move, a colon, and what it names as JSON (ids may hold
# any character, and the pattern-matching id carries the name as one string).
_ROW_MOVES = (Move.STAND_DOWN, Move.UNLINK_REPORT)


def row_move(move: Move, key: str, label: str) -> str:
    """The move name of `move` on the row of unit or report `key` (shown as `label`)."""
    return f"{move.value}:" + json.dumps([key, label], ensure_ascii=False)


def parse_row(name: str) -> tuple[Move, str, str] | None:
    """The move, the unit or report id and its label of a row button (None: not one)."""
    head, sep, rest = name.partition(":")
    if not sep or head not in {m.value for m in _ROW_MOVES}:
        return None
    key, label = json.loads(rest)
    return Move(head), str(key), str(label)
