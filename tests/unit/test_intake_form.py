"""The manual intake form's field rules against the intake/1 contract and its own samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard.presenters.intake_form import check
from realtime.intake_contract import IntakeRejected, decode_document

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AT = datetime(2026, 11, 26, 21, 14, 5, tzinfo=UTC)
TOWNS = {"320118001000": (118.87, 31.32)}
ZH = "zh-CN"


def _form(document: dict[str, Any]) -> dict[str, object]:
    """The form a person would fill in to give this document."""
    location = document.get("location") or {}
    reporter = document.get("reporter") or {}
    return {
        "channel": document.get("channel"),
        "category": document.get("category"),
        "severity": document.get("severity"),
        "summary": document.get("summary"),
        "address": location.get("address"),
        "lon": location.get("lon", ""),
        "lat": location.get("lat", ""),
        "name": reporter.get("name"),
        "phone": reporter.get("phone"),
    }


def _valid() -> list[dict[str, Any]]:
    lines = (SAMPLES / "intake-valid.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _invalid() -> list[tuple[dict[str, Any], str]]:
    out = []
    for line in (SAMPLES / "intake-invalid.jsonl").read_text().splitlines():
        sample = json.loads(line)
        try:
            document = json.loads(sample["data"])
        except json.JSONDecodeError:
            continue  # not JSON: a form cannot produce it
        if not isinstance(document, dict):
            continue  # not an object: nor that
        out.append((document, sample["why"]))
    return out


@pytest.mark.parametrize("document", _valid(), ids=lambda d: d["source_id"])
def test_every_valid_sample_filled_in_gives_a_document_the_contract_accepts(
    document: dict[str, Any],
) -> None:
    checked = check(_form(document), TOWNS, "walk_in-test-1", AT, ZH)
    assert checked.errors == {}
    assert checked.document is not None
    report = decode_document(json.dumps(checked.document).encode())
    assert report.summary == document["summary"].strip()
    assert report.channel == document["channel"]


# The invalid samples a person can type into the form, and the field the error stands next to.
FIELD_OF = {
    "unknown channel": "channel",
    "unknown category": "category",
    "empty summary": "summary",
    "longitude out of range": "lon",
    "location without lon": "lon",
    "severity out of 1..4": "severity",
    "summary longer than 500 characters": "summary",
}


@pytest.mark.parametrize(("document", "why"), _invalid(), ids=lambda x: str(x)[:30])
def test_invalid_samples_fail_the_form_at_their_field(document: dict[str, Any], why: str) -> None:
    checked = check(_form(document), TOWNS, "walk_in-test-2", AT, ZH)
    field = FIELD_OF.get(why)
    if field is None:
        # Not a field a person fills in (schema, source id, time, unknown fields): the form
        # builds those itself, and what it builds the contract accepts.
        if checked.document is not None:
            decode_document(json.dumps(checked.document).encode())
        return
    assert field in checked.errors, (why, checked.errors)
    with pytest.raises(IntakeRejected):
        decode_document(json.dumps(document).encode())


def test_a_bad_phone_is_refused_next_to_its_field_in_words() -> None:
    form = _form(_valid()[0]) | {"phone": "call me <b>"}
    assert check(form, TOWNS, "x", AT, ZH).errors == {
        "phone": "电话号码格式不正确（7至15位数字，可含 + - ( ) 空格）"
    }
    assert "phone" in check(form | {"phone": "123"}, TOWNS, "x", AT, ZH).errors
    assert check(form | {"phone": "+86 139-5123-4567"}, TOWNS, "x", AT, ZH).errors == {}


def test_a_township_pick_stands_in_for_coordinates() -> None:
    form = _form(_valid()[0]) | {"lon": "", "lat": "", "township": "320118001000"}
    checked = check(form, TOWNS, "x", AT, ZH)
    assert checked.document is not None
    assert checked.document["location"]["lon"] == 118.87
    nowhere = check(form | {"township": None}, TOWNS, "x", AT, ZH)
    assert nowhere.errors == {"township": "请填写经纬度或选择乡镇（街道）"}


def test_an_overlong_summary_is_refused_as_the_contract_would() -> None:
    form = _form(_valid()[0]) | {"summary": "长" * 501}
    assert check(form, TOWNS, "x", AT, ZH).errors == {"summary": "不能超过 500 个字"}
