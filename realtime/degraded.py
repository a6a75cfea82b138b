"""'Degraded since T' status: a key per unavailable component plus events when it changes.

Several workers may see the same outage; the key is set with NX so only the first one
announces it (and keeps the earliest `since`), and only the one that deletes it announces
the recovery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
import redis.asyncio as aioredis

from realtime.streams import DATA_FIELD, StreamNames

# storage and redis: a server is away (announced by the worker that rides it out); forming and
# intake: the processes that form cases or take reports are stuck or gone (the watchdog).
Component = Literal["storage", "redis", "forming", "intake"]
COMPONENTS: tuple[Component, ...] = ("storage", "redis", "forming", "intake")
EVENT_SCHEMA = "event/1"


class DegradedStatus(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Stored under the degraded key while a component is down."""

    component: Component
    since: datetime
    reason: str
    reporter: str


_status_decoder = msgspec.json.Decoder(DegradedStatus)


class DegradedNotice(msgspec.Struct, frozen=True, gc=False):
    """What screens are told of an outage: which component, since when, and why if known."""

    component: str
    since: datetime
    reason: str | None = None


class SystemDegraded(
    msgspec.Struct, frozen=True, gc=False, tag_field="type", tag="system.degraded"
):
    """The events-stream event screens show as a banner until `system.recovered`."""

    schema: str
    at: datetime
    actor: str
    component: str
    since: datetime
    reason: str


class SystemRecovered(
    msgspec.Struct, frozen=True, gc=False, tag_field="type", tag="system.recovered"
):
    """The events-stream event that clears the banner (and records the outage's window)."""

    schema: str
    at: datetime
    actor: str
    component: str
    since: datetime
    until: datetime


def notice_of(status: DegradedStatus) -> DegradedNotice:
    """The part of a stored outage that screens are shown."""
    return DegradedNotice(status.component, status.since, status.reason)


def degraded_event(status: DegradedStatus) -> bytes:
    """The system.degraded event screens show as a banner."""
    return msgspec.json.encode(
        SystemDegraded(
            EVENT_SCHEMA,
            status.since,
            status.reporter,
            status.component,
            status.since,
            status.reason,
        )
    )


def recovered_event(status: DegradedStatus, until: datetime, actor: str) -> bytes:
    """The system.recovered event that clears the banner."""
    return msgspec.json.encode(
        SystemRecovered(EVENT_SCHEMA, until, actor, status.component, status.since, until)
    )


async def announce_degraded(
    redis: aioredis.Redis, names: StreamNames, status: DegradedStatus, events_maxlen: int
) -> bool:
    """Record the outage unless one is already recorded; True when this call announced it."""
    created = await redis.set(
        names.degraded(status.component), msgspec.json.encode(status), nx=True
    )
    if created:
        await redis.xadd(
            names.events,
            {DATA_FIELD: degraded_event(status)},
            maxlen=events_maxlen,
            approximate=True,
        )
    return bool(created)


async def announce_recovered(
    redis: aioredis.Redis,
    names: StreamNames,
    status: DegradedStatus,
    until: datetime,
    actor: str,
    events_maxlen: int,
) -> bool:
    """Clear the outage; True when this call cleared it (and published system.recovered)."""
    if status.component == "redis":
        # An outage of Redis itself could not be recorded while it lasted: the first worker
        # back publishes it afterwards, the others see the marker and stay quiet.
        first = await redis.set(names.degraded("redis") + ":recovered", b"1", nx=True, ex=30)
        known: DegradedStatus | None = status if first else None
    else:
        stored: Any = await redis.getdel(names.degraded(status.component))
        known = _status_decoder.decode(stored) if stored else None
    if known is None:
        return False  # another worker already announced the recovery
    await redis.xadd(
        names.events,
        {DATA_FIELD: recovered_event(known, until, actor)},
        maxlen=events_maxlen,
        approximate=True,
    )
    return True


async def current_degraded(redis: aioredis.Redis, names: StreamNames) -> list[DegradedStatus]:
    """Every component currently recorded as unavailable."""
    values: Any = await redis.mget([names.degraded(c) for c in COMPONENTS])
    return [_status_decoder.decode(v) for v in values if v]
