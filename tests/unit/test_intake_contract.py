"""The intake/1 contract: every field rule, on the shared samples and on our own cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from incidents.vocabulary import Category, Severity
from realtime.intake_contract import (
    MAX_ENTRY_BYTES,
    IntakeRejected,
    decode_document,
    decode_intake,
    json_schema,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ROOT = Path(__file__).resolve().parent.parent.parent


def valid_document(**changes: Any) -> dict[str, Any]:
    """A minimal valid report, with fields replaced or removed (value None removes)."""
    document: dict[str, Any] = {
        "schema": "intake/1",
        "source_id": "test-1",
        "channel": "110",
        "category": "fire",
        "summary": "民房起火",
        "location": {"lon": 118.87, "lat": 31.32},
        "reported_at": "2026-11-26T10:00:00+08:00",
    }
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def rejection(raw: bytes) -> str:
    with pytest.raises(IntakeRejected) as info:
        decode_document(raw)
    return str(info.value)


def test_every_shared_valid_sample_is_accepted() -> None:
    """Each line of intake-valid.jsonl decodes to a report."""
    lines = (SAMPLES / "intake-valid.jsonl").read_text("utf-8").splitlines()
    reports = [decode_document(line.encode("utf-8")) for line in lines if line.strip()]
    assert len(reports) == 12
    assert len({r.source_id for r in reports}) == 12


def test_every_shared_invalid_sample_is_rejected_with_a_reason() -> None:
    """Each line of intake-invalid.jsonl is rejected, and the reason is not empty."""
    lines = (SAMPLES / "intake-invalid.jsonl").read_text("utf-8").splitlines()
    for line in filter(None, lines):
        sample = json.loads(line)
        reason = rejection(sample["data"].encode("utf-8"))
        assert reason, sample["why"]


def test_minimal_document_gets_the_category_default_severity() -> None:
    """Without severity, a fire is Level II."""
    report = decode_document(encode(valid_document()))
    assert report.category is Category.FIRE
    assert report.effective_severity is Severity.II


@pytest.mark.parametrize(
    ("changes", "reason_part"),
    [
        ({"schema": "intake/2"}, "$.schema"),
        ({"source_id": None}, "source_id"),
        ({"source_id": ""}, "$.source_id"),
        ({"source_id": "x" * 129}, "$.source_id"),
        ({"channel": "wechat"}, "$.channel"),
        ({"category": "alien"}, "$.category"),
        ({"summary": ""}, "$.summary"),
        ({"summary": "   "}, "blank"),
        ({"summary": "长" * 501}, "$.summary"),
        ({"summary": 42}, "$.summary"),
        ({"location": None}, "location"),
        ({"location": {"lat": 31.3}}, "lon"),
        ({"location": {"lon": 118.9}}, "lat"),
        ({"location": {"lon": 180.5, "lat": 31.3}}, "$.location.lon"),
        ({"location": {"lon": 118.9, "lat": -90.5}}, "$.location.lat"),
        ({"location": {"lon": "118.9", "lat": 31.3}}, "$.location.lon"),
        ({"location": {"lon": 118.9, "lat": 31.3, "alt": 5}}, "alt"),
        ({"location": {"lon": 118.9, "lat": 31.3, "address": "路" * 201}}, "address"),
        ({"location": [118.9, 31.3]}, "$.location"),
        ({"reported_at": "2026-11-26 10:00"}, "$.reported_at"),
        ({"reported_at": "2026-11-26T10:00:00"}, "timezone"),
        ({"reported_at": 1764122400}, "$.reported_at"),
        ({"severity": 0}, "$.severity"),
        ({"severity": 5}, "$.severity"),
        ({"severity": 2.5}, "$.severity"),
        ({"severity": True}, "$.severity"),
        ({"severity": "2"}, "$.severity"),
        ({"reporter": {"name": "王", "id_card": "3201"}}, "id_card"),
        ({"reporter": {"phone": "call me"}}, "$.reporter.phone"),
        ({"reporter": "王先生"}, "$.reporter"),
        ({"priority": "high"}, "priority"),
        ({"summary": "a\u0000b"}, "NUL"),
    ],
)
def test_field_rules(changes: dict[str, Any], reason_part: str) -> None:
    """Each broken rule is rejected and the reason names the field."""
    assert reason_part in rejection(encode(valid_document(**changes)))


def test_oversized_document_is_rejected_before_parsing() -> None:
    """A document over the size limit is rejected, saying its size."""
    raw = encode(valid_document(summary="x")) + b" " * MAX_ENTRY_BYTES
    assert "larger than" in rejection(raw)


def test_non_utf8_document_is_rejected() -> None:
    """Bytes that are not UTF-8 are rejected, even inside a JSON string."""
    raw = encode(valid_document()).replace("民房起火".encode(), b"\xff\xfe")
    assert "UTF-8" in rejection(raw)


@pytest.mark.parametrize("raw", [b"", b"null", b"[]", b"42", b"{", b'"text"'])
def test_non_object_documents_are_rejected(raw: bytes) -> None:
    """Empty, truncated or non-object JSON is rejected."""
    assert rejection(raw)


def test_entry_must_carry_exactly_the_data_field() -> None:
    """Stream entries with other or extra fields are rejected, naming the fields."""
    good = encode(valid_document())
    assert decode_intake({b"data": good}).source_id == "test-1"
    with pytest.raises(IntakeRejected, match="exactly one field"):
        decode_intake({b"payload": good})
    with pytest.raises(IntakeRejected, match="extra"):
        decode_intake({b"data": good, b"extra": b"1"})


def test_coordinates_outside_the_county_are_still_valid() -> None:
    """The contract checks WGS-84 ranges only; outside-jurisdiction is decided later."""
    report = decode_document(encode(valid_document(location={"lon": 120.5, "lat": 30.1})))
    assert report.location.lon == 120.5


def test_published_json_schema_is_current() -> None:
    """docs/intake.schema.json is exactly what the model generates."""
    published = json.loads((ROOT / "docs" / "intake.schema.json").read_text("utf-8"))
    assert published == json_schema()
