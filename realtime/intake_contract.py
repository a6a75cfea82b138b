"""The intake/1 contract: decode and validate one stream entry, or say exactly why not."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from incidents.vocabulary import DEFAULT_SEVERITY, Category, Channel, Severity

SCHEMA_VERSION = "intake/1"
MAX_ENTRY_BYTES = 16 * 1024  # the largest valid document is ~3 KiB; anything bigger is abuse


class IntakeRejected(ValueError):
    """An entry that breaks the contract; the message is the reason stored in the dead letter."""


class Location(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A WGS-84 point, with the address as the caller gave it."""

    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Reporter(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Who reported it: personal data, masked on shared screens."""

    name: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[0-9+\-() ]*$")] | None = None


class IntakeReport(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One report as it arrives on the intake stream."""

    schema: Literal["intake/1"]
    source_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    channel: Channel
    category: Category
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    location: Location
    reported_at: Annotated[datetime, msgspec.Meta(tz=True)]
    severity: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None
    reporter: Reporter | None = None

    @property
    def effective_severity(self) -> Severity:
        """The given severity, or the category's default."""
        if self.severity is None:
            return DEFAULT_SEVERITY[self.category]
        return Severity(self.severity)


_decoder = msgspec.json.Decoder(IntakeReport, strict=True)


def decode_intake(fields: dict[bytes, bytes]) -> IntakeReport:
    """Validate a raw stream entry (its field map) and return the report; raise IntakeRejected."""
    if set(fields) != {b"data"}:
        names = sorted(k.decode("utf-8", "replace") for k in fields)
        raise IntakeRejected(f"entry must have exactly one field 'data', got {names}")
    return decode_document(fields[b"data"])


def decode_document(raw: bytes) -> IntakeReport:
    """Validate the JSON document of an intake entry; raise IntakeRejected with the reason."""
    if len(raw) > MAX_ENTRY_BYTES:
        raise IntakeRejected(f"document is {len(raw)} bytes, larger than {MAX_ENTRY_BYTES}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntakeRejected(f"document is not valid UTF-8 (byte {exc.start})") from None
    try:
        report = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise IntakeRejected(f"invalid: {exc}") from None
    except msgspec.DecodeError as exc:
        raise IntakeRejected(f"not JSON: {exc}") from None
    if "\x00" in _text_fields(report):
        raise IntakeRejected("invalid: text must not contain NUL characters")
    if not report.summary.strip():
        raise IntakeRejected("invalid: summary is blank - at `$.summary`")
    if not (math.isfinite(report.location.lon) and math.isfinite(report.location.lat)):
        raise IntakeRejected("invalid: coordinates must be finite - at `$.location`")
    return report


def _text_fields(report: IntakeReport) -> str:
    """All free text of a report joined, for checks that apply to every string."""
    parts = [report.source_id, report.summary, report.location.address or ""]
    if report.reporter is not None:
        parts += [report.reporter.name or "", report.reporter.phone or ""]
    return "".join(parts)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an intake/1 document, generated from the model above."""
    schema: dict[str, Any] = msgspec.json.schema(IntakeReport)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Pingan Command intake/1 report"
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True))
