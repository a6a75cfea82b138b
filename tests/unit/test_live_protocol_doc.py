"""docs/live-protocol.md against the live/1 structs: every message described, examples valid."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from realtime.live_protocol import SERVER_MESSAGES, Subscribe, parse_subscribe
from realtime.terminals import parse_hello, parse_message

DOC = Path(__file__).resolve().parents[2] / "docs" / "live-protocol.md"
TAGS = {str(cls.__struct_config__.tag): cls for cls in SERVER_MESSAGES}


def examples() -> list[dict[str, Any]]:
    """Every JSON object in the page's json code blocks (a block may hold one per line)."""
    found: list[dict[str, Any]] = []
    for block in re.findall(r"```json\n(.*?)```", DOC.read_text("utf-8"), flags=re.S):
        try:
            found.append(json.loads(block))
        except json.JSONDecodeError:
            found.extend(json.loads(line) for line in block.splitlines() if line.strip())
    return found


def test_every_server_message_is_described_with_an_example() -> None:
    """Each tag has its **name** in the text and at least one example."""
    text = DOC.read_text("utf-8")
    shown = {example["type"] for example in examples()}
    for tag in TAGS:
        assert f"**{tag}**" in text, f"docs/live-protocol.md does not describe {tag}"
        assert tag in shown, f"docs/live-protocol.md has no example of {tag}"


@pytest.mark.parametrize("example", [e for e in examples() if e["type"] in TAGS], ids=str)
def test_server_examples_name_exactly_the_struct_fields_and_decode(example: dict[str, Any]) -> None:
    """An example lists the struct's fields (no more, no fewer) and decodes as that struct."""
    cls = TAGS[example["type"]]
    assert list(example) == ["type", *cls.__struct_fields__], example["type"]
    msgspec.json.decode(json.dumps(example), type=cls)


def test_client_examples_are_valid_client_messages() -> None:
    """The subscribe, hello and terminal examples pass the server's own validation."""
    client = [e for e in examples() if e["type"] not in TAGS]
    assert {e["type"] for e in client} >= {"subscribe", "hello", "ack", "arrival", "feedback"}
    for example in client:
        raw = json.dumps(example, ensure_ascii=False)
        if example["type"] == "subscribe":
            parse_subscribe(raw)
        elif example["type"] == "hello":
            parse_hello(json.dumps({**example, "token": "x" * 16}))
        else:
            # The documented position is stamped 2026-11-26T10:00:00+08:00: read it then.
            parse_message(raw, datetime(2026, 11, 26, 2, 0, 30, tzinfo=UTC))


def test_the_subscribe_table_lists_exactly_its_fields() -> None:
    """The field table of the subscribe message matches the struct."""
    section = DOC.read_text("utf-8").split("## Client → server", 1)[1].split("**Access.**", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
    assert documented == [name for name in Subscribe.__struct_fields__ if name != "type"]
