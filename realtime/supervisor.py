"""Run the demo stack's processes; Ctrl-C (or SIGTERM) stops every one, children included.

A child that dies is restarted after a back-off that doubles with each failure in a row
(reset once it has stayed up for a while). A child that keeps failing is given up alone,
and reported; the other processes go on running, because one broken simulator or
dashboard must never take the intake path down with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)


class ChildState(StrEnum):
    """Where a supervised child stands."""

    RUNNING = "running"
    BACKING_OFF = "backing_off"
    GIVEN_UP = "given_up"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How dying children are restarted: exponential back-off, then giving up on that one."""

    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    # A child that stayed up this long is healthy again: its failure count starts over.
    stable_after_seconds: float = 60.0
    # Failures in a row (each one quicker than `stable_after_seconds`) before giving up.
    give_up_after: int = 12

    def delay(self, failures_in_a_row: int) -> float:
        """Seconds to wait before the next start after this many failures in a row."""
        exponent = max(0, failures_in_a_row - 1)
        return float(min(self.max_delay_seconds, self.first_delay_seconds * 2**exponent))


@dataclass
class Child:
    """One supervised process, in its own process group so its own children stop with it."""

    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    state: ChildState = ChildState.RUNNING
    started_at: float = 0.0
    failures_in_a_row: int = 0
    restarts: int = 0
    last_exit: int | None = None
    next_start_at: float = 0.0
    history: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChildReport:
    """What the supervisor can say about one child (for logs, health and tests)."""

    name: str
    state: ChildState
    restarts: int
    failures_in_a_row: int
    last_exit: int | None
    pid: int | None


class Supervisor:
    """Starts children, restarts crashed ones with back-off, stops them all on a signal."""

    def __init__(self, env: Mapping[str, str], policy: RestartPolicy | None = None) -> None:
        self._env = dict(env)
        self._children: list[Child] = []
        self._stopping = False
        self._policy = policy or RestartPolicy()

    def add(self, name: str, argv: Sequence[str]) -> None:
        """Register and start a child."""
        child = Child(name, list(argv))
        self._children.append(child)
        self._spawn(child, time.monotonic())

    def _spawn(self, child: Child, now: float) -> None:
        child.process = subprocess.Popen(child.argv, env=self._env, process_group=0)
        child.state = ChildState.RUNNING
        child.started_at = now
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def check(self, now: float | None = None) -> None:
        """One supervision step: notice children that died, start those whose wait is over."""
        now = time.monotonic() if now is None else now
        for child in self._children:
            if child.state is ChildState.RUNNING:
                if child.process is not None and child.process.poll() is not None:
                    self._on_exit(child, now)
            elif child.state is ChildState.BACKING_OFF and now >= child.next_start_at:
                child.restarts += 1
                self._spawn(child, now)

    def _on_exit(self, child: Child, now: float) -> None:
        child.last_exit = child.process.returncode if child.process else None
        if now - child.started_at >= self._policy.stable_after_seconds:
            child.failures_in_a_row = 0
        child.failures_in_a_row += 1
        if child.failures_in_a_row >= self._policy.give_up_after:
            child.state = ChildState.GIVEN_UP
            log.error(
                "%s failed %d times in a row (last exit %s); giving up on it, the rest run on",
                child.name,
                child.failures_in_a_row,
                child.last_exit,
            )
            return
        delay = self._policy.delay(child.failures_in_a_row)
        child.state = ChildState.BACKING_OFF
        child.next_start_at = now + delay
        log.warning(
            "%s exited with %s (failure %d in a row); restarting in %.1f s",
            child.name,
            child.last_exit,
            child.failures_in_a_row,
            delay,
        )

    def report(self) -> list[ChildReport]:
        """Every child's state, in the order they were added."""
        return [
            ChildReport(
                c.name,
                c.state,
                c.restarts,
                c.failures_in_a_row,
                c.last_exit,
                c.process.pid if c.process is not None else None,
            )
            for c in self._children
        ]

    def watch(self, interval_seconds: float = 0.2) -> None:
        """Block until a signal asks to stop; restart children that die meanwhile."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        while not self._stopping:
            self.check()
            time.sleep(interval_seconds)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def stop(self, grace_seconds: float = 8.0) -> None:
        """SIGTERM every child's process group, then SIGKILL what is still there."""
        self._stopping = True
        for child in self._children:
            if child.process is not None and child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for child in self._children:
            if child.process is None:
                continue
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
            # The group may hold grandchildren even when the child itself has exited.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=2)
            if child.state is not ChildState.GIVEN_UP:
                child.state = ChildState.STOPPED
