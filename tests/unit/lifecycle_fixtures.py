"""Builders shared by the lifecycle, deadline and merging tests: reports, cases, a driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from incidents.case import (
    AssignmentKind,
    AssignmentStatus,
    Case,
    DispatchTarget,
    Jurisdiction,
    Location,
    Report,
    Reporter,
)
from incidents.commands import (
    Accept,
    Acknowledge,
    Arrive,
    Command,
    Dispatch,
    ReportFeedback,
    Verify,
)
from incidents.events import Event
from incidents.lifecycle import apply, open_case
from incidents.vocabulary import Category, Channel, Severity, Step, Tier

T0 = datetime(2026, 11, 26, 13, 14, 5, tzinfo=UTC)
GAOCHUN = Jurisdiction(
    county_code="320118",
    township_code="320118001",
    village_code="320118001002",
    grid_code="320118001002-03",
)
OUTSIDE = Jurisdiction(county_code="320118", inside_county=False)
OLD_STREET = Location(118.8747, 31.3246, "淳溪街道 高淳老街东段")


def report(
    source_id: str = "110-20261126-000101",
    *,
    category: Category = Category.PUBLIC_SECURITY,
    severity: Severity | None = Severity.II,
    channel: Channel = Channel.POLICE_110,
    location: Location = OLD_STREET,
    reported_at: datetime = T0,
    summary: str = "高淳老街附近有人酒后打架",
) -> Report:
    """A report as the ingest worker would pass it on."""
    return Report(
        source_id=source_id,
        channel=channel,
        category=category,
        summary=summary,
        location=location,
        reported_at=reported_at,
        severity=severity,
        reporter=Reporter(name="王先生", phone="13951234567"),
    )


@dataclass
class Driver:
    """Drives one case through commands with a moving clock, keeping its whole event log."""

    case: Case
    now: datetime
    log: list[Event] = field(default_factory=list)

    def do(self, command: Command, after: timedelta = timedelta(minutes=1)) -> list[Event]:
        """Apply `command` `after` the previous one; return its events."""
        self.now += after
        self.case, events = apply(self.case, command, self.now)
        self.log.extend(events)
        return events

    def types(self, events: list[Event]) -> list[str]:
        """Event type names, for compact assertions."""
        return [e.type.value for e in events]


def new_case(
    *,
    category: Category = Category.PUBLIC_SECURITY,
    severity: Severity | None = Severity.II,
    owning_tier: Tier = Tier.COUNTY,
    jurisdiction: Jurisdiction = GAOCHUN,
    case_id: int = 42,
    at: datetime = T0,
    source_id: str = "110-20261126-000101",
) -> Driver:
    """A freshly opened case at intake."""
    case, events = open_case(
        report(source_id, category=category, severity=severity, reported_at=at),
        case_id=case_id,
        case_no=f"320118-20261126-{case_id:04d}",
        jurisdiction=jurisdiction,
        actor="system:ingest",
        now=at,
        owning_tier=owning_tier,
    )
    return Driver(case=case, now=at, log=list(events))


def unit(unit_id: str = "car-1") -> DispatchTarget:
    """A patrol car or team."""
    return DispatchTarget(unit_id=unit_id, kind=AssignmentKind.UNIT, name=unit_id)


def department(unit_id: str = "dept-housing") -> DispatchTarget:
    """A department that handles from its desk."""
    return DispatchTarget(unit_id=unit_id, kind=AssignmentKind.DEPARTMENT, name=unit_id)


def drive_to(driver: Driver, step: Step) -> Driver:
    """Take a case along the ordinary path (one patrol car, car-1) until it reaches `step`."""
    order = list(Step)
    if order.index(driver.case.step) > order.index(step):
        raise ValueError(f"the case is already past {step.value}")
    while driver.case.step is not step:
        car = driver.case.active_assignment_of("car-1")
        match driver.case.step:
            case Step.INTAKE:
                driver.do(Accept(actor="duty-a"))
            case Step.REPORT:
                driver.do(Dispatch(actor="duty-a", targets=(unit("car-1"),)))
            case Step.DISPATCH if car is not None and car.status is AssignmentStatus.DISPATCHED:
                driver.do(Acknowledge(actor="field-1", unit_id="car-1"))
            case Step.DISPATCH:
                driver.do(Arrive(actor="field-1", unit_id="car-1"))
            case Step.FEEDBACK:
                driver.do(
                    ReportFeedback(actor="field-1", unit_id="car-1", text="已调解", completed=True)
                )
            case Step.VERIFY:
                driver.do(Verify(actor="verifier", passed=True))
            case Step.ARCHIVE:
                raise AssertionError("nothing follows archive")
    return driver
