"""CAP 1.2 warnings, checked element by element against the rules of the CAP 1.2 schema."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest

from geo.outline import township_ring
from geo.pack import load_demo_pack
from incidents.cap import (
    CAP_NAMESPACE,
    CapArea,
    CapMessage,
    CapSender,
    activation_alert,
    cancellation,
    cap_time,
    level_update,
    warning_area,
)
from incidents.plan_library import Plan, load_library
from incidents.plans import PlanActivation, activate, change_level, close
from incidents.vocabulary import Category, Severity
from tests.unit.lifecycle_fixtures import T0, new_case, report

NS = "{" + CAP_NAMESPACE + "}"
LIBRARY = load_library()
SENDER = CapSender("320118.pingan.command", "南京市高淳区社会管理服务中心")

# --- The CAP 1.2 structure (OASIS CAP v1.2, section 3.2 and its XML schema) -------------------
# Each container: its children in the required order as (name, minimum, maximum).
UNBOUNDED = 10**9
ALERT = (
    ("identifier", 1, 1),
    ("sender", 1, 1),
    ("sent", 1, 1),
    ("status", 1, 1),
    ("msgType", 1, 1),
    ("source", 0, 1),
    ("scope", 1, 1),
    ("restriction", 0, 1),
    ("addresses", 0, 1),
    ("code", 0, UNBOUNDED),
    ("note", 0, 1),
    ("references", 0, 1),
    ("incidents", 0, 1),
    ("info", 0, UNBOUNDED),
)
INFO = (
    ("language", 0, 1),
    ("category", 1, UNBOUNDED),
    ("event", 1, 1),
    ("responseType", 0, UNBOUNDED),
    ("urgency", 1, 1),
    ("severity", 1, 1),
    ("certainty", 1, 1),
    ("audience", 0, 1),
    ("eventCode", 0, UNBOUNDED),
    ("effective", 0, 1),
    ("onset", 0, 1),
    ("expires", 0, 1),
    ("senderName", 0, 1),
    ("headline", 0, 1),
    ("description", 0, 1),
    ("instruction", 0, 1),
    ("web", 0, 1),
    ("contact", 0, 1),
    ("parameter", 0, UNBOUNDED),
    ("resource", 0, UNBOUNDED),
    ("area", 0, UNBOUNDED),
)
AREA = (
    ("areaDesc", 1, 1),
    ("polygon", 0, UNBOUNDED),
    ("circle", 0, UNBOUNDED),
    ("geocode", 0, UNBOUNDED),
    ("altitude", 0, 1),
    ("ceiling", 0, 1),
)
VALUE_PAIR = (("valueName", 1, 1), ("value", 1, 1))
CONTAINERS = {"alert": ALERT, "info": INFO, "area": AREA, "geocode": VALUE_PAIR}
ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    },
    "responseType": {
        "Shelter",
        "Evacuate",
        "Prepare",
        "Execute",
        "Avoid",
        "Monitor",
        "Assess",
        "AllClear",
        "None",
    },
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
# CAP dateTime: no fractional seconds, a numeric offset, never "Z".
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
TIMES = {"sent", "effective", "onset", "expires"}
# identifier and sender: no spaces, no commas, no restricted characters (< and &).
NO_SPACE_COMMA = re.compile(r"^[^\s,<&]+$")
POINT = r"-?\d+(\.\d+)?,-?\d+(\.\d+)?"


class CapInvalid(AssertionError):
    """The document breaks a CAP 1.2 rule; the message says which element and how."""


def check_cap(xml: str) -> ET.Element:
    """Parse a CAP 1.2 document and check it rule by rule; return its root."""
    root = ET.fromstring(xml)
    if root.tag != NS + "alert":
        raise CapInvalid(f"the root is {root.tag}, not alert in {CAP_NAMESPACE}")
    _check_container(root, "alert")
    scope = _text(root, "scope")
    if scope == "Restricted" and root.find(NS + "restriction") is None:
        raise CapInvalid("scope Restricted needs a restriction")
    if scope == "Private" and root.find(NS + "addresses") is None:
        raise CapInvalid("scope Private needs addresses")
    if _text(root, "msgType") in {"Update", "Cancel"} and root.find(NS + "references") is None:
        raise CapInvalid("an Update or Cancel must reference the messages it updates")
    for name in ("identifier", "sender"):
        if not NO_SPACE_COMMA.match(_text(root, name)):
            raise CapInvalid(f"{name} holds a space, comma or restricted character")
    references = root.find(NS + "references")
    if references is not None:
        for triple in (references.text or "").split():
            parts = triple.split(",")
            if len(parts) != 3 or not DATETIME.match(parts[2]):
                raise CapInvalid(f"reference {triple!r} is not sender,identifier,sent")
    return root


def _check_container(element: ET.Element, name: str) -> None:
    """Children in the schema's order and counts; leaves with text; values of their type."""
    if (element.text or "").strip():
        raise CapInvalid(f"{name} holds text beside its elements")
    rules = CONTAINERS[name]
    position, counts = 0, dict.fromkeys((rule[0] for rule in rules), 0)
    for child in element:
        if not child.tag.startswith(NS):
            raise CapInvalid(f"{child.tag} in {name} is outside the CAP namespace")
        tag = child.tag[len(NS) :]
        while position < len(rules) and rules[position][0] != tag:
            position += 1
        if position == len(rules):
            raise CapInvalid(f"{tag} is out of order or not allowed in {name}")
        counts[tag] += 1
        if counts[tag] > rules[position][2]:
            raise CapInvalid(f"{name} has more than {rules[position][2]} {tag}")
        if tag in CONTAINERS:
            _check_container(child, tag)
        else:
            _check_leaf(child, tag)
    for tag, minimum, _ in rules:
        if counts[tag] < minimum:
            raise CapInvalid(f"{name} is missing its required {tag}")


def _check_leaf(element: ET.Element, tag: str) -> None:
    if len(element):
        raise CapInvalid(f"{tag} must hold text only")
    text = element.text or ""
    if not text.strip():
        raise CapInvalid(f"{tag} is empty")
    if tag in ENUMS and text not in ENUMS[tag]:
        raise CapInvalid(f"{tag} {text!r} is not one of {sorted(ENUMS[tag])}")
    if tag in TIMES and not DATETIME.match(text):
        raise CapInvalid(f"{tag} {text!r} is not a CAP dateTime")
    if tag == "polygon":
        pairs = text.split()
        if len(pairs) < 4 or pairs[0] != pairs[-1]:
            raise CapInvalid("a polygon needs at least four points, the first equal the last")
        for pair in pairs:
            _check_point(pair, tag)
    if tag == "circle":
        match = re.fullmatch(rf"({POINT})\s+(\d+(\.\d+)?)", text)
        if match is None:
            raise CapInvalid(f"circle {text!r} is not 'lat,lon radius'")
        _check_point(match.group(1), tag)


def _check_point(pair: str, tag: str) -> None:
    if not re.fullmatch(POINT, pair):
        raise CapInvalid(f"{tag} point {pair!r} is not lat,lon")
    lat, lon = (float(v) for v in pair.split(","))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapInvalid(f"{tag} point {pair!r} is outside WGS-84 ranges")


def _text(root: ET.Element, tag: str) -> str:
    return root.findtext(NS + tag) or ""


def children(element: ET.Element | None) -> list[str]:
    """Local names of an element's children, in order."""
    assert element is not None
    return [child.tag[len(NS) :] for child in element]


# --- Building the messages ----------------------------------------------------------------------


def chemical_case_area(plan: Plan) -> tuple[PlanActivation, CapArea]:
    """The plan activated on a level-II case at T0, and its warned area (a circle)."""
    case = new_case(category=Category.SAFETY_PRODUCTION, severity=Severity.II).case
    activation, _ = activate(plan, case, activation_id=7, by="duty-wang", now=T0)
    return activation, warning_area(plan, case, township_name="淳溪街道")


def three_messages() -> list[CapMessage]:
    """Alert at activation, Update after raising to level I, Cancel at closure."""
    activation, area = chemical_case_area(LIBRARY["hazmat-leak"])
    alert = activation_alert(activation, area, SENDER, sent=T0)
    raised, _ = change_level(
        activation, Severity.I, by="director", now=T0 + timedelta(minutes=20), reason="扩散"
    )
    update = level_update(raised, area, SENDER, [alert], sent=T0 + timedelta(minutes=20))
    closed, _ = close(raised, by="director", now=T0 + timedelta(hours=4), summary="处置完毕")
    cancel = cancellation(closed, area, SENDER, [alert, update], sent=T0 + timedelta(hours=4))
    return [alert, update, cancel]


def test_the_alert_follows_the_schema_element_by_element() -> None:
    """Alert: the envelope, one info in zh-CN with the plan's data, one area with the code."""
    alert = three_messages()[0]
    root = check_cap(alert.xml)
    assert children(root) == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "scope",
        "info",
    ]
    assert _text(root, "identifier") == alert.identifier == "320118-PLAN-000007-01"
    assert _text(root, "sender") == SENDER.sender
    assert _text(root, "sent") == "2026-11-26T21:14:05+08:00"
    assert (_text(root, "status"), _text(root, "msgType"), _text(root, "scope")) == (
        "Actual",
        "Alert",
        "Public",
    )
    info = root.find(NS + "info")
    assert children(info) == [
        "language",
        "category",
        "category",
        "event",
        "responseType",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "senderName",
        "headline",
        "description",
        "instruction",
        "area",
    ]
    assert info is not None
    assert _text(info, "language") == "zh-CN"
    assert [c.text for c in info.findall(NS + "category")] == ["CBRNE", "Safety"]
    assert _text(info, "event") == "危险化学品泄漏"
    assert [c.text for c in info.findall(NS + "responseType")] == ["Evacuate", "Avoid"]
    assert (_text(info, "urgency"), _text(info, "severity"), _text(info, "certainty")) == (
        "Immediate",
        "Severe",
        "Observed",
    )
    assert _text(info, "senderName") == SENDER.sender_name
    assert "Ⅱ级" in _text(info, "headline")
    area = info.find(NS + "area")
    assert children(area) == ["areaDesc", "circle", "geocode"]
    assert area is not None
    assert _text(area, "circle") == "31.32460,118.87470 3"
    geocode = area.find(NS + "geocode")
    assert children(geocode) == ["valueName", "value"]
    assert geocode is not None
    assert (_text(geocode, "valueName"), _text(geocode, "value")) == ("GB/T 2260", "320118")


def test_the_update_references_the_alert_and_carries_the_new_level() -> None:
    """Update after raising to level I: severity Extreme, references the Alert."""
    alert, update, _ = three_messages()
    root = check_cap(update.xml)
    assert _text(root, "msgType") == "Update"
    assert children(root) == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "scope",
        "references",
        "info",
    ]
    assert _text(root, "references") == (
        f"{SENDER.sender},{alert.identifier},2026-11-26T21:14:05+08:00"
    )
    assert _text(root, "info/" + NS + "severity") == "Extreme"
    assert update.identifier == "320118-PLAN-000007-02"


def test_the_cancel_references_every_earlier_message_and_gives_the_all_clear() -> None:
    """Cancel at closure: references Alert and Update, response AllClear, urgency Past."""
    alert, update, cancel = three_messages()
    root = check_cap(cancel.xml)
    assert _text(root, "msgType") == "Cancel"
    refs = _text(root, "references").split(" ")
    assert [r.split(",")[1] for r in refs] == [alert.identifier, update.identifier]
    info = root.find(NS + "info")
    assert info is not None
    assert [c.text for c in info.findall(NS + "responseType")] == ["AllClear"]
    assert _text(info, "urgency") == "Past"
    assert "解除" in _text(info, "headline")
    assert len({alert.identifier, update.identifier, cancel.identifier}) == 3


def test_an_update_without_earlier_messages_is_refused() -> None:
    """An Update or Cancel with nothing to reference would be an invalid CAP message."""
    activation, area = chemical_case_area(LIBRARY["hazmat-leak"])
    with pytest.raises(ValueError, match="must reference"):
        level_update(activation, area, SENDER, [], sent=T0)


@pytest.mark.parametrize("plan_id", sorted(LIBRARY))
def test_every_shipped_plan_gives_a_valid_alert(plan_id: str) -> None:
    """Each plan's CAP data (categories, urgency, certainty, responses) passes the checker."""
    activation, area = chemical_case_area(LIBRARY[plan_id])
    check_cap(activation_alert(activation, area, SENDER, sent=T0).xml)


def test_a_township_plan_warns_the_township_outline_as_a_closed_polygon() -> None:
    """The polder plan uses the township's outline: ≥4 lat,lon pairs, first equal to last."""
    pack = load_demo_pack()
    township = pack.townships[0]
    ring = township_ring(pack, township.code, 50)
    plan = LIBRARY["polder-flood"]
    case = new_case(category=Category.EMERGENCY, severity=Severity.III).case
    area = warning_area(plan, case, township_name=township.name, township_ring=ring)
    activation, _ = activate(plan, case, activation_id=9, by="duty-wang", now=T0)
    root = check_cap(activation_alert(activation, area, SENDER, sent=T0).xml)
    shape = root.find(f"{NS}info/{NS}area")
    assert children(shape) == ["areaDesc", "polygon", "geocode"]
    assert shape is not None
    pairs = _text(shape, "polygon").split(" ")
    assert 4 <= len(pairs) <= 50 and pairs[0] == pairs[-1]
    lat, lon = (float(v) for v in pairs[1].split(","))
    assert 31 < lat < 32 and 118 < lon < 120  # lat first, then lon
    assert _text(shape, "areaDesc") == township.name


def test_an_open_ring_is_closed_and_a_short_one_falls_back_to_a_circle() -> None:
    """warning_area closes a ring it is given; fewer than four points cannot make a polygon."""
    plan = LIBRARY["polder-flood"]
    case = new_case(category=Category.EMERGENCY, severity=Severity.III).case
    square = [(31.30, 118.80), (31.30, 118.90), (31.40, 118.90), (31.40, 118.80)]
    area = warning_area(plan, case, township_name="淳溪街道", township_ring=square)
    assert area.polygon[0] == area.polygon[-1] and len(area.polygon) == 5
    fallback = warning_area(plan, case, township_name="淳溪街道", township_ring=square[:2])
    assert fallback.circle is not None and not fallback.polygon


def test_text_is_escaped_and_no_personal_data_is_sent() -> None:
    """Markup in a place name comes back as text; the reporter and the address never appear."""
    plan = LIBRARY["hazmat-leak"]
    case = new_case(category=Category.SAFETY_PRODUCTION, severity=Severity.II).case
    area = warning_area(plan, case, township_name="<script>alert(1)</script>&")
    activation, _ = activate(plan, case, activation_id=7, by="duty-wang", now=T0)
    xml = activation_alert(activation, area, SENDER, sent=T0).xml
    root = check_cap(xml)
    assert "<script>" not in xml
    assert _text(root, f"info/{NS}area/{NS}areaDesc").startswith("<script>alert(1)</script>&")
    reporter = report().reporter
    assert reporter is not None and reporter.name and reporter.phone
    for secret in (reporter.name, reporter.phone, case.summary, case.location.address or "?"):
        assert secret not in xml


def test_cap_times_have_whole_seconds_and_an_offset() -> None:
    """Microseconds are dropped, the offset is +08:00, a naive time is refused."""
    assert cap_time(T0 + timedelta(microseconds=123456)) == "2026-11-26T21:14:05+08:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        cap_time(T0.replace(tzinfo=None))


def test_an_area_is_refused_without_one_shape_or_a_six_digit_code() -> None:
    """Neither or both shapes, an open or short polygon, a township-length code: refused."""
    ring = ((31.3, 118.8), (31.3, 118.9), (31.4, 118.9), (31.3, 118.8))
    with pytest.raises(ValueError, match="either a polygon or a circle"):
        CapArea("x", "320118")
    with pytest.raises(ValueError, match="either a polygon or a circle"):
        CapArea("x", "320118", polygon=ring, circle=(31.3, 118.8, 1.0))
    with pytest.raises(ValueError, match="first equal the last"):
        CapArea("x", "320118", polygon=(*ring[:3], (31.5, 118.8)))
    with pytest.raises(ValueError, match="six digits"):
        CapArea("x", "320118001", circle=(31.3, 118.8, 1.0))
    with pytest.raises(ValueError, match="without"):
        CapSender("pingan command", "x")


def _mutate(xml: str, old: str, new: str) -> str:
    assert old in xml, old
    return xml.replace(old, new, 1)


BROKEN: Sequence[tuple[str, str, str]] = (
    (
        "<status>Actual</status><msgType>Alert</msgType>",
        "<msgType>Alert</msgType><status>Actual</status>",
        "out of order",
    ),
    ("<scope>Public</scope>", "", "missing its required scope"),
    ("<scope>Public</scope>", "<scope>Everyone</scope>", "not one of"),
    ("<urgency>Immediate</urgency>", "<urgency>Now</urgency>", "not one of"),
    ("<certainty>Observed</certainty>", "<certainty>Sure</certainty>", "not one of"),
    ("<severity>Severe</severity>", "", "missing its required severity"),
    ("+08:00</sent>", ".5+08:00</sent>", "not a CAP dateTime"),
    ("2026-11-26T21:14:05+08:00", "2026-11-26T13:14:05Z", "not a CAP dateTime"),
    ("<category>CBRNE</category>", "<category>Chemical</category>", "not one of"),
    ("<msgType>Alert</msgType>", "<msgType>Update</msgType>", "must reference"),
    (
        "<areaDesc>",
        "<geocode><valueName>a</valueName><value>1</value></geocode><areaDesc>",
        "out of order",
    ),
    ("<identifier>320118-PLAN", "<identifier>320118 PLAN", "space, comma"),
)


@pytest.mark.parametrize(("old", "new", "complaint"), BROKEN)
def test_the_checker_refuses_what_the_schema_refuses(old: str, new: str, complaint: str) -> None:
    """The checker is not a rubber stamp: each broken rule is caught and named."""
    with pytest.raises(CapInvalid, match=complaint):
        check_cap(_mutate(three_messages()[0].xml, old, new))


def test_the_checker_refuses_an_open_or_short_polygon() -> None:
    """Fewer than four pairs, or first unequal to last: refused."""
    area = CapArea(
        "x", "320118", polygon=((31.3, 118.8), (31.3, 118.9), (31.4, 118.9), (31.3, 118.8))
    )
    activation, _ = chemical_case_area(LIBRARY["hazmat-leak"])
    xml = activation_alert(activation, area, SENDER, sent=T0).xml
    check_cap(xml)
    with pytest.raises(CapInvalid, match="at least four points"):
        check_cap(_mutate(xml, " 31.30000,118.80000</polygon>", " 31.40000,118.80000</polygon>"))
    with pytest.raises(CapInvalid, match="at least four points"):
        check_cap(_mutate(xml, "31.30000,118.90000 31.40000,118.90000 ", ""))
