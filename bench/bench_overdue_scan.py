"""Time the due-soon / overdue scan over 100,000 open cases (target: under 200 ms).

Run: .venv/bin/python bench/bench_overdue_scan.py [--cases N] [--repeat R]

Two populations: "typical", where each case has used 0-110% of its current step's time
(about 9% overdue, 18% due soon), and "backlog", where every case is overdue (the first scan
after an outage). Both are real cases built by `open_case` and `apply`, at every step from
intake to verification, in every category and severity.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from incidents.case import Case, DispatchTarget, Jurisdiction, Location, Report, case_to_row
from incidents.commands import (
    Accept,
    Acknowledge,
    Arrive,
    Command,
    Dispatch,
    ReportFeedback,
)
from incidents.deadlines import (
    DeadlineBoard,
    cases_to_escalate,
    scan_deadlines,
)
from incidents.lifecycle import apply, open_case
from incidents.vocabulary import Category, Channel, Severity, Tier

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
JURISDICTION = Jurisdiction("320118", "320118001", "320118001001", "320118001001-01")
STEPS: tuple[Command, ...] = (
    Accept(actor="duty"),
    Dispatch(actor="duty", targets=(DispatchTarget("u1"),)),
    Acknowledge(actor="u1", unit_id="u1"),
    Arrive(actor="u1", unit_id="u1"),
    ReportFeedback(actor="u1", unit_id="u1", text="done", completed=True),
)
DEPTHS = (0, 1, 2, 4, 5)  # commands applied: intake, report, dispatch, feedback, verify


def make_cases(count: int, seed: int, used: tuple[float, float]) -> list[Case]:
    """`count` open cases, each having used a random share in `used` of its step's time."""
    rng = random.Random(seed)
    templates: dict[tuple[Category, Severity, int], Case] = {}
    cases = []
    for case_id in range(1, count + 1):
        key = (rng.choice(list(Category)), rng.choice(list(Severity)), rng.choice(DEPTHS))
        template = templates.get(key)
        if template is None:
            template = templates[key] = _at_depth(*key)
        deadline = template.deadline
        assert deadline is not None
        allowed = deadline.due_at - deadline.started_at
        # Move the step's start so that the chosen share of its allowance has passed by NOW.
        shift = NOW - rng.uniform(*used) * allowed - deadline.started_at
        cases.append(
            replace(
                template,
                case_id=case_id,
                case_no=f"320118-20261126-{case_id:06d}",
                deadline=replace(
                    deadline,
                    started_at=deadline.started_at + shift,
                    due_at=deadline.due_at + shift,
                    warn_at=deadline.warn_at + shift,
                ),
            )
        )
    return cases


def _at_depth(category: Category, severity: Severity, depth: int) -> Case:
    opened = NOW - timedelta(hours=1)
    report = Report(
        source_id="bench",
        channel=Channel.HOTLINE_12345,
        category=category,
        summary="bench",
        location=Location(118.87, 31.32),
        reported_at=opened,
        severity=severity,
    )
    case, _ = open_case(
        report,
        case_id=0,
        case_no="0",
        jurisdiction=JURISDICTION,
        actor="bench",
        now=opened,
        owning_tier=Tier.TOWNSHIP,
    )
    for minute, command in enumerate(STEPS[:depth], start=1):
        case, _ = apply(case, command, opened + timedelta(seconds=minute))
    return case


def timed(label: str, repeat: int, run: Callable[[], object]) -> float:
    """Run `run` `repeat` times (garbage collector on, as in production); print the median."""
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    print(f"  {label:<44} median {median:7.1f} ms   max {max(samples):7.1f} ms")
    return median


def bench(name: str, cases: list[Case], repeat: int) -> float:
    """Print the population and the time of every way to scan it; return the plain scan's."""
    scan = scan_deadlines(cases, NOW)
    print(
        f"{name}: {len(cases):,} open cases, {len(scan.overdue):,} overdue, "
        f"{len(scan.due_soon):,} due soon"
    )
    plain = timed("scan_deadlines(cases, now)", repeat, lambda: scan_deadlines(cases, NOW))
    timed("cases_to_escalate(cases, now)", repeat, lambda: cases_to_escalate(cases, NOW))
    timed("cases_to_escalate(cases, now, limit=1000)", repeat,
          lambda: cases_to_escalate(cases, NOW, limit=1000))  # fmt: skip
    rows = [case_to_row(case) for case in cases]
    timed("scan_deadlines(case rows, now)", repeat, lambda: scan_deadlines(rows, NOW))
    timed("scan + amounts for all (overdue_entries())", repeat,
          lambda: scan_deadlines(cases, NOW).overdue_entries())  # fmt: skip
    timed("DeadlineBoard.build(cases)", repeat, lambda: DeadlineBoard.build(cases))
    board = DeadlineBoard.build(cases)
    assert board.scan(NOW) == scan, "the board and the plain scan disagree"
    timed("board.scan(now)", repeat, lambda: board.scan(NOW))
    return plain


def main() -> None:
    """Build both populations and time the scans."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    typical = bench("typical", make_cases(args.cases, args.seed, (0.0, 1.1)), args.repeat)
    backlog = bench("backlog", make_cases(args.cases, args.seed, (1.01, 3.0)), args.repeat)
    verdict = "OK" if max(typical, backlog) < 200 else "OVER"
    print(
        f"due/overdue scan of {args.cases:,} open cases: typical {typical:.1f} ms, "
        f"backlog {backlog:.1f} ms (target < 200 ms: {verdict})"
    )


if __name__ == "__main__":
    main()
