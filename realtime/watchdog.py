"""Stuck or missing processes, shown on every screen as degraded, not only as a metric.

Every long-running process (ingest worker, case former, gateway) runs `watch` on a timer: it
reads the workers' heartbeats and announces a component as degraded when nobody forms cases
(no former alive, or reports waiting longer than allowed), or nobody takes reports (no ingest
worker alive); it clears the announcement once they are back. The degraded keys are set with
NX, so however many processes watch, each outage is announced and cleared once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from realtime.degraded import (
    Component,
    DegradedStatus,
    announce_degraded,
    announce_recovered,
)
from realtime.heartbeat import WorkerHeartbeat, read_heartbeats
from realtime.outages import run_until_stopped
from realtime.streams import StreamNames

WATCHED: tuple[Component, ...] = ("forming", "intake")


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """When a process counts as stuck, how often to look, and how long to wait at start."""

    forming_stuck_after_seconds: float = 60.0
    every_seconds: float = 5.0
    # Processes start one after the other: a missing heartbeat means nothing this early.
    startup_grace_seconds: float = 30.0
    events_maxlen: int = 1_000_000


def stuck_components(
    beats: Sequence[WorkerHeartbeat], now: datetime, settings: WatchSettings
) -> dict[Component, str]:
    """Which watched components are stuck or gone, with the reason screens show."""
    found: dict[Component, str] = {}
    formers = [beat for beat in beats if "former" in beat.roles]
    if not formers:
        found["forming"] = "no case former is running: reports are stored but form no cases"
    else:
        waiting = [beat.unformed_since for beat in formers if beat.unformed_since is not None]
        if waiting:
            age = (now - min(waiting)).total_seconds()
            if age > settings.forming_stuck_after_seconds:
                found["forming"] = f"the oldest stored report has waited {age:.0f} s for its case"
    if not any("ingest" in beat.roles for beat in beats):
        found["intake"] = "no intake worker is running: new reports wait in the intake stream"
    return found


async def watch_once(
    redis: aioredis.Redis,
    names: StreamNames,
    now: datetime,
    reporter: str,
    settings: WatchSettings,
    *,
    gone_counts: bool = True,
) -> dict[Component, str]:
    """Announce what is stuck, clear what is back; return what is stuck now.

    Without `gone_counts` (during the start-up grace) only a stuck former counts, not a
    missing heartbeat.
    """
    beats = await read_heartbeats(redis, names)
    stuck = stuck_components(beats, now, settings)
    if not gone_counts:
        stuck = {c: why for c, why in stuck.items() if not why.startswith("no ")}
    for component in WATCHED:
        if component in stuck:
            status = DegradedStatus(component, now, stuck[component], reporter)
            await announce_degraded(redis, names, status, settings.events_maxlen)
        elif gone_counts:
            cleared = DegradedStatus(component, now, "", reporter)
            await announce_recovered(redis, names, cleared, now, reporter, settings.events_maxlen)
    return stuck


async def run_watchdog(
    redis: aioredis.Redis,
    names: StreamNames,
    reporter: str,
    stop: asyncio.Event,
    settings: WatchSettings | None = None,
) -> None:
    """Watch until `stop`; outages of Redis itself are ridden out like everywhere else."""
    settings = settings or WatchSettings()
    started = time.monotonic()

    async def tick() -> None:
        grace_over = time.monotonic() - started >= settings.startup_grace_seconds
        await watch_once(
            redis, names, datetime.now(UTC), reporter, settings, gone_counts=grace_over
        )

    await run_until_stopped("watchdog", tick, stop, every_seconds=settings.every_seconds)
