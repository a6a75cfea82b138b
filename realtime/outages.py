"""Riding out a server that is away: which errors mean that, back-off, stop-aware waits.

Every long-running loop of the stack (ingest, case former, side consumers, gateway, the
deadline job) keeps going through outages of Redis and PostgreSQL: it classifies the error
with these tuples, waits with `Backoff`, and never sleeps through a stop request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# Redis is not there (or too slow) right now. redis-py wraps socket errors in its own classes.
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
# PostgreSQL is not there (or slower than its time limit) right now, as opposed to "this data".
# A bare OSError or TimeoutError comes from asyncpg's socket or an `asyncio.timeout` around it.
STORAGE_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)
OUTAGES: tuple[type[BaseException], ...] = (*REDIS_DOWN, *STORAGE_DOWN)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`, or less if `stop` is set meanwhile; True when stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    return stop.is_set()


@dataclass
class Backoff:
    """Exponential back-off between retries: `minimum`, doubling, capped at `maximum`."""

    minimum: float = 0.1
    maximum: float = 5.0
    current: float = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.minimum

    def reset(self) -> None:
        """Back to the shortest wait (after a success)."""
        self.current = self.minimum

    def next_delay(self) -> float:
        """The wait before the next retry; the one after it is twice as long (up to the cap)."""
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    async def wait(self, stop: asyncio.Event) -> bool:
        """Sleep the next delay unless stopped first; True when stopping."""
        return await sleep_or_stop(stop, self.next_delay())


async def run_until_stopped(
    name: str,
    step: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    *,
    every_seconds: float = 0.0,
    backoff: Backoff | None = None,
) -> None:
    """Call `step` over and over until `stop` is set, `every_seconds` apart.

    A failing call never ends the loop: an outage is logged as a warning, anything else with
    its traceback, and the next call comes after a growing back-off instead of the interval.
    """
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            await step()
        except OUTAGES as exc:
            delay = backoff.next_delay()
            log.warning("%s paused (%r); retrying in %.1fs", name, exc, delay)
        except Exception:
            delay = backoff.next_delay()
            log.exception("%s failed; retrying in %.1fs", name, delay)
        else:
            backoff.reset()
            delay = every_seconds
        if delay > 0:
            await sleep_or_stop(stop, delay)
