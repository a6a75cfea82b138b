"""The manual intake form's rules: field values → an intake/1 document, or the error by field.

The rules are those of realtime.intake_contract (which the dashboard may not import),
re-expressed per field so each error can stand next to its field; a unit test runs the
contract's own samples through both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.i18n import text
from incidents.vocabulary import Category, Channel

SCHEMA = "intake/1"
# The contract's limits (realtime.intake_contract), field by field.
MAX_SUMMARY = 500
MAX_ADDRESS = 200
MAX_NAME = 64
MAX_PHONE = 32
PHONE = re.compile(r"^[0-9+\-() ]*$")
# A phone the centre can call back: at least 7 digits (a local number), at most 15 (E.164).
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15
# The channels a person at the centre takes in by hand; the rest arrive by machine.
FORM_CHANNELS = (Channel.WALK_IN, Channel.HOTLINE_12345, Channel.POLICE_110, Channel.PETITION)

FORM_FIELDS = (
    "channel",
    "category",
    "severity",
    "summary",
    "address",
    "lon",
    "lat",
    "township",
    "name",
    "phone",
)


@dataclass(frozen=True, slots=True)
class Checked:
    """The document to submit, or the words to show next to each field that is wrong."""

    document: dict[str, Any] | None
    errors: Mapping[str, str]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(_text(value))
    except ValueError:
        return None


def check(
    form: Mapping[str, object],
    townships: Mapping[str, tuple[float, float]],
    source_id: str,
    reported_at: datetime,
    lang: str,
) -> Checked:
    """Validate the form; a township pick stands in for coordinates not given."""
    errors: dict[str, str] = {}
    channel = _text(form.get("channel"))
    if channel not in {c.value for c in Channel}:
        errors["channel"] = text(lang, "intake_need_channel")
    category = _text(form.get("category"))
    if category not in {c.value for c in Category}:
        errors["category"] = text(lang, "intake_need_category")
    severity_value = form.get("severity")
    severity = _number(severity_value) if severity_value not in (None, "") else None
    if severity is not None and (severity not in (1, 2, 3, 4)):
        errors["severity"] = text(lang, "intake_bad_severity")
    summary = _text(form.get("summary"))
    if not summary:
        errors["summary"] = text(lang, "intake_need_summary")
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = text(lang, "intake_too_long").format(n=MAX_SUMMARY)
    address = _text(form.get("address"))
    if len(address) > MAX_ADDRESS:
        errors["address"] = text(lang, "intake_too_long").format(n=MAX_ADDRESS)
    lon, lat = _number(form.get("lon")), _number(form.get("lat"))
    given = form.get("lon") not in (None, "") or form.get("lat") not in (None, "")
    if given:
        if lon is None or not math.isfinite(lon) or not -180 <= lon <= 180:
            errors["lon"] = text(lang, "intake_bad_lon")
        if lat is None or not math.isfinite(lat) or not -90 <= lat <= 90:
            errors["lat"] = text(lang, "intake_bad_lat")
    else:
        picked = townships.get(_text(form.get("township")))
        if picked is None:
            errors["township"] = text(lang, "intake_need_place")
        else:
            lon, lat = picked
    name = _text(form.get("name"))
    if len(name) > MAX_NAME:
        errors["name"] = text(lang, "intake_too_long").format(n=MAX_NAME)
    phone = _text(form.get("phone"))
    digits = sum(ch.isdigit() for ch in phone)
    if phone and (
        len(phone) > MAX_PHONE
        or not PHONE.match(phone)
        or not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS
    ):
        errors["phone"] = text(lang, "intake_bad_phone")
    joined = summary + address + name + phone
    if "\x00" in joined:
        errors.setdefault("summary", text(lang, "intake_bad_text"))
    if errors:
        return Checked(None, errors)
    assert lon is not None and lat is not None
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "source_id": source_id,
        "channel": channel,
        "category": category,
        "summary": summary,
        "location": {"lon": lon, "lat": lat, **({"address": address} if address else {})},
        "reported_at": reported_at.isoformat(),
    }
    if severity is not None:
        document["severity"] = int(severity)
    if name or phone:
        document["reporter"] = {
            **({"name": name} if name else {}),
            **({"phone": phone} if phone else {}),
        }
    return Checked(document, {})
