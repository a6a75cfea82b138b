"""Time the event and case JSON encoding per call (msgspec structs; encode ≤ 5 µs, decode ≤ 10 µs).

Run: .venv/bin/python bench/bench_codec.py [--number N] [--repeat R] [--reports M]

The ingest path writes one `case.opened` event row and one case row per report, publishes the
public event, and reads cases back from their snapshots; at 20,000 reports/s on two cores each
call has a few microseconds. "Same object" times are the best of R runs of N calls on one
object (garbage collector on); "ingest" times run once over M distinct freshly opened cases,
so nothing is cached from an earlier call on the same report.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from incidents.case import (
    Case,
    DispatchTarget,
    Jurisdiction,
    Location,
    Report,
    Reporter,
    Satisfaction,
    case_from_row,
    case_to_row,
    case_to_snapshot,
)
from incidents.commands import (
    Accept,
    Acknowledge,
    Arrive,
    Command,
    Dispatch,
    EvaluateAndArchive,
    ReportFeedback,
    Verify,
)
from incidents.events import (
    Event,
    event_from_json,
    event_from_row,
    event_json,
    event_to_row,
    public_event_json,
)
from incidents.lifecycle import apply, open_case
from incidents.vocabulary import Category, Channel, Severity

T = TypeVar("T")

OPENED_AT = datetime(2026, 11, 26, 13, 14, 5, tzinfo=UTC)
JURISDICTION = Jurisdiction("320118", "320118001", "320118001002", "320118001002-03")


def opened(serial: int = 101) -> tuple[Case, Event]:
    """A freshly opened case and its case.opened event, as ingest makes them."""
    at = OPENED_AT + timedelta(seconds=serial, microseconds=serial)
    report = Report(
        source_id=f"110-20261126-{serial:06d}",
        channel=Channel.POLICE_110,
        category=Category.PUBLIC_SECURITY,
        summary="高淳老街附近有人酒后打架",
        location=Location(118.8747, 31.3246, "淳溪街道 高淳老街东段"),
        reported_at=at - timedelta(seconds=40),
        severity=Severity.II,
        reporter=Reporter(name="王先生", phone="13951234567"),
    )
    case, events = open_case(
        report,
        case_id=serial,
        case_no=f"320118-20261126-{serial:04d}",
        jurisdiction=JURISDICTION,
        actor="system:ingest",
        now=at,
    )
    return case, events[0]


def archived(case: Case) -> Case:
    """The same case taken around the whole loop (assignments, feedback, closure)."""
    steps: list[Command] = [
        Accept(actor="duty-a"),
        Dispatch(actor="duty-a", targets=(DispatchTarget("car-1", name="巡逻车 1"),)),
        Acknowledge(actor="field-1", unit_id="car-1"),
        Arrive(actor="field-1", unit_id="car-1"),
        ReportFeedback(actor="field-1", unit_id="car-1", text="已调解", completed=True),
        Verify(actor="verifier", passed=True),
        EvaluateAndArchive(actor="duty-a", satisfaction=Satisfaction.SATISFIED),
    ]
    for minute, command in enumerate(steps, start=1):
        case, _ = apply(case, command, OPENED_AT + timedelta(minutes=minute))
    return case


def per_call(label: str, run: Callable[[], object], number: int, repeat: int) -> float:
    """Print and return the best µs per call of `run` (median alongside)."""
    samples = [t / number * 1e6 for t in timeit.repeat(run, number=number, repeat=repeat)]
    best = min(samples)
    print(f"  {label:<44} {best:7.2f} µs/call   (median {statistics.median(samples):7.2f})")
    return best


def once_each(label: str, run: Callable[[T], object], items: Sequence[T]) -> float:
    """Print and return µs per item of one pass of `run` over `items`."""
    start = time.perf_counter()
    for item in items:
        run(item)
    per_item = (time.perf_counter() - start) / len(items) * 1e6
    print(f"  {label:<44} {per_item:7.2f} µs/call")
    return per_item


def ingest(reports: int) -> None:
    """Time the codec calls ingest makes, over distinct freshly opened cases."""
    made = [opened(serial) for serial in range(1, reports + 1)]
    cases = [case for case, _ in made]
    events = [event for _, event in made]
    print(f"ingest, {reports:,} distinct reports, one pass each:")
    once_each("event_to_row(event)", event_to_row, events)
    once_each("public_event_json(event)", public_event_json, events)
    once_each("case_to_row(case)", case_to_row, cases)
    once_each("case_from_row(row)", case_from_row, [case_to_row(case) for case in cases])
    made = [opened(serial) for serial in range(reports + 1, 2 * reports + 1)]

    def report(pair: tuple[Case, Event]) -> None:
        case, event = pair
        event_to_row(event)
        public_event_json(event)
        case_to_row(case)

    once_each("all three writes of one report", report, made)


def main() -> None:
    """Build the objects once, then time each codec function."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reports", type=int, default=20_000)
    args = parser.parse_args()
    n, r = args.number, args.repeat

    case, event = opened()
    event_row = event_to_row(event)
    event_text = event_json(event)  # as a reader of the events stream has it
    case_row = case_to_row(case)
    closed = archived(case)
    closed_row = case_to_row(closed)
    assert event_from_json(event_text) == event and event_from_row(event_row) == event
    assert case_from_row(case_row) == case and case_from_row(closed_row) == closed

    print("case.opened event, same object:")
    per_call("event_to_row(event)", lambda: event_to_row(event), n, r)
    per_call("public_event_json(event)", lambda: public_event_json(event), n, r)
    per_call("event_json(event)", lambda: event_json(event), n, r)
    per_call("event_from_json(text)", lambda: event_from_json(event_text), n, r)
    per_call("event_from_row(row)", lambda: event_from_row(event_row), n, r)
    print("freshly opened case, same object:")
    per_call("case_to_snapshot(case)", lambda: case_to_snapshot(case), n, r)
    per_call("case_to_row(case)", lambda: case_to_row(case), n, r)
    per_call("case_from_row(row)", lambda: case_from_row(case_row), n, r)
    print("archived case (one assignment, feedback, closure), same object:")
    per_call("case_to_row(case)", lambda: case_to_row(closed), n, r)
    per_call("case_from_row(row)", lambda: case_from_row(closed_row), n, r)
    ingest(args.reports)


if __name__ == "__main__":
    main()
