"""An accepted intake report, located in the jurisdiction tree, ready to become a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from incidents.case import Jurisdiction
from incidents.views import PlaceNames
from incidents.vocabulary import Category, Channel, Severity

# China has had no daylight saving since 1991: a fixed offset is exact and needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
SYSTEM_INGEST = "system:ingest"


@dataclass(frozen=True, slots=True)
class Located:
    """Where a point falls in the jurisdiction tree, and the names screens show for it."""

    jurisdiction: Jurisdiction
    names: PlaceNames


@dataclass(frozen=True, slots=True)
class AcceptedReport:
    """A report that passed the intake contract, with its location resolved."""

    source_id: str
    channel: Channel
    category: Category
    severity: Severity
    summary: str
    lon: float
    lat: float
    address: str | None
    reporter_name: str | None
    reporter_phone: str | None
    reported_at: datetime
    received_at: datetime
    place: Located


def case_number(county_code: str, local_day: str, seq: int) -> str:
    """The number a person reads out on the phone, e.g. 320118-20261126-0042."""
    return f"{county_code}-{local_day}-{seq:04d}"
