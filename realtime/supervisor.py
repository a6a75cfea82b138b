"""Run the demo stack's processes; Ctrl-C (or SIGTERM) stops every one, children included."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    """One supervised process, in its own process group so its own children stop with it."""

    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Starts children, restarts a crashed one (bounded), stops them all on a signal."""

    def __init__(self, env: Mapping[str, str], max_restarts_per_minute: int = 5) -> None:
        self._env = dict(env)
        self._children: list[Child] = []
        self._stopping = False
        self._max_restarts = max_restarts_per_minute

    def add(self, name: str, argv: Sequence[str]) -> None:
        """Register and start a child."""
        child = Child(name, list(argv))
        self._children.append(child)
        self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=self._env, process_group=0)
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def watch(self) -> None:
        """Block until a signal asks to stop; restart children that die meanwhile."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        while not self._stopping:
            for child in self._children:
                if child.process is not None and child.process.poll() is not None:
                    self._restart(child)
            time.sleep(0.2)

    def _restart(self, child: Child) -> None:
        code = child.process.returncode if child.process else None
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < 60] + [now]
        if len(child.restarts) > self._max_restarts:
            log.error("%s keeps dying (exit %s); stopping the stack", child.name, code)
            self._stopping = True
            return
        log.warning("%s exited with %s; restarting", child.name, code)
        self._spawn(child)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def stop(self, grace_seconds: float = 8.0) -> None:
        """SIGTERM every child's process group, then SIGKILL what is still there."""
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
