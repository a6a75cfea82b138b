"""The watchdog on real Redis: a former that is gone shows on every screen, and clears."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from realtime.degraded import current_degraded
from realtime.heartbeat import WorkerHeartbeat, read_heartbeats, write_heartbeat
from realtime.streams import StreamNames
from realtime.watchdog import WatchSettings, watch_once

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


async def beat(redis: aioredis.Redis, names: StreamNames, name: str, roles: list[str]) -> None:
    heartbeat = WorkerHeartbeat(consumer=name, at=NOW, started_at=NOW, roles=roles)
    await write_heartbeat(redis, names, heartbeat, 30)


async def system_events(redis: aioredis.Redis, names: StreamNames) -> list[dict[str, Any]]:
    entries: Any = await redis.xrange(names.events)
    return [json.loads(fields[b"data"]) for _, fields in entries]


async def test_a_missing_former_is_announced_once_and_cleared_when_it_is_back(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Two watchers see the same gap: one system.degraded, then one system.recovered."""
    settings = WatchSettings()
    await beat(redis, names, "worker-1", ["ingest"])
    for watcher in ("system:watchdog:a", "system:watchdog:b"):
        stuck = await watch_once(redis, names, NOW, watcher, settings)
        assert set(stuck) == {"forming"}
    (outage,) = await current_degraded(redis, names)
    assert (outage.component, outage.since) == ("forming", NOW)
    await beat(redis, names, "former-1", ["former"])
    for watcher in ("system:watchdog:a", "system:watchdog:b"):
        later = NOW + timedelta(seconds=10)
        assert await watch_once(redis, names, later, watcher, settings) == {}
    assert await current_degraded(redis, names) == []
    events = await system_events(redis, names)
    assert [(e["type"], e["component"]) for e in events] == [
        ("system.degraded", "forming"),
        ("system.recovered", "forming"),
    ]
    assert "no case former is running" in events[0]["reason"]


async def test_during_the_start_up_grace_a_missing_heartbeat_is_not_an_outage(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Processes start one after the other: nothing is announced before they could beat."""
    stuck = await watch_once(
        redis, names, NOW, "system:watchdog:a", WatchSettings(), gone_counts=False
    )
    assert stuck == {}
    assert await system_events(redis, names) == []


async def test_heartbeats_are_read_from_their_index_and_an_expired_one_leaves_it(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """No keyspace scan: the readers find workers through a set, pruned when a key expires."""
    await beat(redis, names, "worker-2", ["ingest"])
    await beat(redis, names, "former-2", ["former"])
    # A key that merely looks like a heartbeat is not one: only written beats are indexed.
    await redis.set(names.heartbeat("stray"), b"{}")
    beats = await read_heartbeats(redis, names)
    assert [b.consumer for b in beats] == ["former-2", "worker-2"]
    await redis.delete(names.heartbeat("worker-2"))  # as when its TTL runs out
    assert [b.consumer for b in await read_heartbeats(redis, names)] == ["former-2"]
    members: Any = await redis.smembers(names.heartbeats)
    assert members == {b"former-2"}
