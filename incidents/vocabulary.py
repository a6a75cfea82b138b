"""Closed vocabularies shared by every layer: channels, categories, severities, steps, tiers."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated

import msgspec


class Channel(StrEnum):
    """Where a report came in (一窗口受理)."""

    POLICE_110 = "110"
    HOTLINE_12345 = "12345"
    GRID = "grid"
    CAMERA = "camera"
    WALK_IN = "walk_in"
    ONLINE = "online"
    SOS = "sos"
    PETITION = "petition"


class Category(StrEnum):
    """What kind of case it is (事件类别)."""

    DISPUTE = "dispute"
    PUBLIC_SECURITY = "public_security"
    PETITION = "petition"
    SAFETY_PRODUCTION = "safety_production"
    FIRE = "fire"
    TRAFFIC = "traffic"
    MASS_INCIDENT = "mass_incident"
    EMERGENCY = "emergency"
    PUBLIC_SERVICE = "public_service"
    SPECIAL_POPULATION = "special_population"
    OTHER = "other"


class Severity(IntEnum):
    """Level I (most severe) to Level IV."""

    I = 1  # noqa: E741 - the official level names
    II = 2
    III = 3
    IV = 4


DEFAULT_SEVERITY: dict[Category, Severity] = {
    Category.DISPUTE: Severity.IV,
    Category.PUBLIC_SECURITY: Severity.III,
    Category.PETITION: Severity.IV,
    Category.SAFETY_PRODUCTION: Severity.III,
    Category.FIRE: Severity.II,
    Category.TRAFFIC: Severity.III,
    Category.MASS_INCIDENT: Severity.II,
    Category.EMERGENCY: Severity.II,
    Category.PUBLIC_SERVICE: Severity.IV,
    Category.SPECIAL_POPULATION: Severity.III,
    Category.OTHER: Severity.IV,
}


class Step(StrEnum):
    """The six steps of the closed loop (六步闭环), in order."""

    INTAKE = "intake"
    REPORT = "report"
    DISPATCH = "dispatch"
    FEEDBACK = "feedback"
    VERIFY = "verify"
    ARCHIVE = "archive"


class Tier(StrEnum):
    """Levels of the jurisdiction tree, top down."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    GRID = "grid"


# A point in time as every stored or published struct holds it: aware, never naive (a time
# without an offset is refused when read back).
Moment = Annotated[datetime, msgspec.Meta(tz=True)]
