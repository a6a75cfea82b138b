"""The plan deadline job: announce checklist steps that went overdue, on a timer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from incidents.store.plan_service import PlanService
from realtime.outages import run_until_stopped

log = logging.getLogger(__name__)


async def run_plan_deadline_job(
    plans: PlanService,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
    every_seconds: float = 15.0,
) -> None:
    """Record overdue plan steps until `stop`; a failing tick is retried, never fatal."""

    async def tick() -> None:
        announced = await plans.record_overdue(clock())
        if announced:
            log.info("announced %d overdue plan steps", announced)

    await run_until_stopped("plan deadline job", tick, stop, every_seconds=every_seconds)
