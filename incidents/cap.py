"""Public warnings of an activated plan as OASIS CAP 1.2 XML (as GB/T 35965.1 profiles it).

An activation sends an `Alert`; a level change an `Update` and closing the plan a `Cancel`,
each referencing every earlier message of the activation. The area is the case's township
outline as a polygon (when the plan warns a township and the outline is known) or a circle
around the case, with the county's GB/T 2260 code as a geocode. Texts come from the plan file
and the jurisdiction names only, never from the report (no personal data, no untrusted text
beyond what ElementTree escapes anyway). Pure: `sent` is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from xml.etree import ElementTree as ET

import msgspec

from incidents.case import Case
from incidents.plan_library import CapResponse, Plan, WarningArea
from incidents.plans import PlanActivation
from incidents.reports import CHINA_TZ
from incidents.vocabulary import Moment, Severity

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
GEOCODE_NAME = "GB/T 2260"
LANGUAGE = "zh-CN"
MIN_POLYGON_POINTS = 4

# GB/T 35965.1 maps the four warning colours (levels I-IV) onto CAP severity this way.
CAP_SEVERITY: dict[Severity, str] = {
    Severity.I: "Extreme",
    Severity.II: "Severe",
    Severity.III: "Moderate",
    Severity.IV: "Minor",
}
LEVEL_NAME: dict[Severity, str] = {
    Severity.I: "Ⅰ级",
    Severity.II: "Ⅱ级",
    Severity.III: "Ⅲ级",
    Severity.IV: "Ⅳ级",
}


class MsgType(StrEnum):
    """The CAP message types a plan sends."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class CapSender(msgspec.Struct, frozen=True, gc=False):
    """Who sends the warnings: an identifier without spaces or commas, and a display name."""

    sender: str  # e.g. 320118.pingan.command
    sender_name: str  # e.g. 南京市高淳区社会管理服务中心

    def __post_init__(self) -> None:
        """Refuse a sender CAP forbids (spaces, commas, `<`, `&`)."""
        if not self.sender or any(c in self.sender for c in " ,<&"):
            raise ValueError(f"CAP sender {self.sender!r} must be non-empty, without ' ,<&'")


class CapArea(msgspec.Struct, frozen=True, gc=False):
    """The warned area: a closed polygon of (lat, lon) pairs or a circle, and the 6-digit code."""

    area_desc: str
    geocode: str
    polygon: tuple[tuple[float, float], ...] = ()
    circle: tuple[float, float, float] | None = None  # lat, lon, radius in km

    def __post_init__(self) -> None:
        """Exactly one shape; a polygon closed with at least four points; a 6-digit code."""
        if bool(self.polygon) == (self.circle is not None):
            raise ValueError("a CAP area needs either a polygon or a circle")
        if self.polygon and (
            len(self.polygon) < MIN_POLYGON_POINTS or self.polygon[0] != self.polygon[-1]
        ):
            raise ValueError("a CAP polygon needs at least four points, the first equal the last")
        if len(self.geocode) != 6 or not self.geocode.isdecimal():
            raise ValueError(f"a GB/T 2260 code has six digits, not {self.geocode!r}")


class CapMessage(msgspec.Struct, frozen=True, gc=False):
    """One CAP message sent for an activation, with its XML text."""

    identifier: str
    msg_type: MsgType
    sent: Moment
    xml: str


def warning_area(
    plan: Plan,
    case: Case,
    *,
    township_name: str | None,
    township_ring: Sequence[tuple[float, float]] = (),
) -> CapArea:
    """The area to warn: the township outline (lat, lon) if the plan says so, else a circle."""
    geocode = case.jurisdiction.county_code[:6]
    place = township_name or "事发地"
    if plan.cap.area is WarningArea.TOWNSHIP and len(township_ring) >= MIN_POLYGON_POINTS:
        ring = tuple((round(lat, 5), round(lon, 5)) for lat, lon in township_ring)
        if ring[0] != ring[-1]:
            ring = (*ring, ring[0])
        return CapArea(area_desc=place, geocode=geocode, polygon=ring)
    radius = plan.cap.radius_km
    return CapArea(
        area_desc=f"{place}事发地周边{radius:g}公里范围",
        geocode=geocode,
        circle=(round(case.location.lat, 5), round(case.location.lon, 5), radius),
    )


def cap_time(moment: datetime) -> str:
    """A CAP dateTime: local China time, whole seconds, with its offset (no Z, no fraction)."""
    if moment.utcoffset() is None:
        raise ValueError("CAP times must be timezone-aware")
    return moment.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()


def message_identifier(county_code: str, activation_id: int, serial: int) -> str:
    """A sender-unique CAP identifier for the `serial`-th message of an activation."""
    return f"{county_code[:6]}-PLAN-{activation_id:06d}-{serial:02d}"


def activation_alert(
    activation: PlanActivation, area: CapArea, sender: CapSender, *, sent: datetime
) -> CapMessage:
    """The `Alert` sent when the plan is activated."""
    return _message(activation, area, sender, MsgType.ALERT, (), sent)


def level_update(
    activation: PlanActivation,
    area: CapArea,
    sender: CapSender,
    previous: Sequence[CapMessage],
    *,
    sent: datetime,
) -> CapMessage:
    """The `Update` after a level change (activation already at its new level)."""
    return _message(activation, area, sender, MsgType.UPDATE, previous, sent)


def cancellation(
    activation: PlanActivation,
    area: CapArea,
    sender: CapSender,
    previous: Sequence[CapMessage],
    *,
    sent: datetime,
) -> CapMessage:
    """The `Cancel` when the plan closes."""
    return _message(activation, area, sender, MsgType.CANCEL, previous, sent)


def _message(
    activation: PlanActivation,
    area: CapArea,
    sender: CapSender,
    msg_type: MsgType,
    previous: Sequence[CapMessage],
    sent: datetime,
) -> CapMessage:
    if msg_type is not MsgType.ALERT and not previous:
        raise ValueError(f"a CAP {msg_type.value} must reference the earlier messages")
    identifier = message_identifier(area.geocode, activation.activation_id, len(previous) + 1)
    root = ET.Element("alert", xmlns=CAP_NAMESPACE)
    _add(root, "identifier", identifier)
    _add(root, "sender", sender.sender)
    _add(root, "sent", cap_time(sent))
    _add(root, "status", "Actual")
    _add(root, "msgType", msg_type.value)
    _add(root, "scope", "Public")
    if previous:
        _add(root, "references", " ".join(_reference(sender, m) for m in previous))
    _info(root, activation, area, sender, msg_type)
    xml = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return CapMessage(identifier, msg_type, sent, '<?xml version="1.0" encoding="UTF-8"?>\n' + xml)


def _reference(sender: CapSender, message: CapMessage) -> str:
    return f"{sender.sender},{message.identifier},{cap_time(message.sent)}"


def _info(
    root: ET.Element,
    activation: PlanActivation,
    area: CapArea,
    sender: CapSender,
    msg_type: MsgType,
) -> None:
    cap = activation.plan.cap
    level = LEVEL_NAME[activation.level]
    info = ET.SubElement(root, "info")
    _add(info, "language", LANGUAGE)
    for category in cap.categories:
        _add(info, "category", category.value)
    _add(info, "event", cap.event)
    responses = (CapResponse.ALL_CLEAR,) if msg_type is MsgType.CANCEL else cap.responses
    for response in responses:
        _add(info, "responseType", response.value)
    _add(info, "urgency", "Past" if msg_type is MsgType.CANCEL else cap.urgency.value)
    _add(info, "severity", CAP_SEVERITY[activation.level])
    _add(info, "certainty", cap.certainty.value)
    _add(info, "senderName", sender.sender_name)
    if msg_type is MsgType.ALERT:
        headline = f"{cap.event}{level}应急响应启动"
        description, instruction = cap.description, cap.instruction
    elif msg_type is MsgType.UPDATE:
        headline = f"{cap.event}应急响应调整为{level}"
        description, instruction = cap.description, cap.instruction
    else:
        headline = f"{cap.event}应急响应解除"
        description = f"{cap.event}处置工作已结束，{level}应急响应解除。"
        instruction = "警戒和交通管制解除，请群众听从村(社区)安排有序恢复正常生活。"
    _add(info, "headline", headline)
    _add(info, "description", description)
    _add(info, "instruction", instruction)
    shape = ET.SubElement(info, "area")
    _add(shape, "areaDesc", area.area_desc)
    if area.polygon:
        _add(shape, "polygon", " ".join(f"{lat:.5f},{lon:.5f}" for lat, lon in area.polygon))
    if area.circle is not None:
        lat, lon, radius = area.circle
        _add(shape, "circle", f"{lat:.5f},{lon:.5f} {radius:g}")
    geocode = ET.SubElement(shape, "geocode")
    _add(geocode, "valueName", GEOCODE_NAME)
    _add(geocode, "value", area.geocode)


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element
