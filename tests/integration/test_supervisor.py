"""The supervisor with real child processes: back-off, giving up on one child alone."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

import pytest

from realtime.supervisor import ChildState, RestartPolicy, Supervisor

pytestmark = pytest.mark.integration

CRASHING = [sys.executable, "-c", "import sys; sys.exit(3)"]
HEALTHY = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    policy = RestartPolicy(
        first_delay_seconds=0.05, max_delay_seconds=0.2, stable_after_seconds=30, give_up_after=4
    )
    created = Supervisor({"PATH": "/usr/bin:/bin"}, policy)
    yield created
    created.stop(grace_seconds=2)


def run_until(supervisor: Supervisor, done: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("the supervisor did not get there in time")


def test_a_child_that_keeps_failing_is_given_up_alone_and_the_others_run_on(
    supervisor: Supervisor,
) -> None:
    """After `give_up_after` quick failures only that child is given up; the healthy one lives."""
    supervisor.add("simulator", CRASHING)
    supervisor.add("worker", HEALTHY)
    healthy_pid = supervisor.report()[1].pid

    def given_up() -> bool:
        return supervisor.report()[0].state is ChildState.GIVEN_UP

    run_until(supervisor, given_up)
    simulator, worker = supervisor.report()
    assert (simulator.restarts, simulator.failures_in_a_row, simulator.last_exit) == (3, 4, 3)
    assert worker.state is ChildState.RUNNING and worker.pid == healthy_pid
    time.sleep(0.3)
    supervisor.check()
    assert supervisor.report()[0].restarts == 3  # no restart after giving up
    assert supervisor.report()[1].state is ChildState.RUNNING


def test_a_crashed_child_waits_out_its_back_off_before_it_is_restarted(
    supervisor: Supervisor,
) -> None:
    """A dead child is backing off, not restarted at once, then started again with a new pid."""
    supervisor.add("gateway", [sys.executable, "-c", "import time; time.sleep(0.2)"])
    first_pid = supervisor.report()[0].pid
    run_until(supervisor, lambda: supervisor.report()[0].state is ChildState.BACKING_OFF)
    assert supervisor.report()[0].pid == first_pid
    run_until(supervisor, lambda: supervisor.report()[0].restarts == 1)
    assert supervisor.report()[0].pid != first_pid
    assert supervisor.report()[0].state is ChildState.RUNNING


def test_stop_ends_every_child(supervisor: Supervisor) -> None:
    """Stopping leaves no child running."""
    supervisor.add("a", HEALTHY)
    supervisor.add("b", HEALTHY)
    supervisor.stop(grace_seconds=2)
    assert [r.state for r in supervisor.report()] == [ChildState.STOPPED, ChildState.STOPPED]
