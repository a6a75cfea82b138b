"""Prometheus metrics: collect a snapshot from Redis, then render it as text (a pure function).

Rates are counters (`*_total`) per worker, as Prometheus expects: `rate()` turns them into
per-second figures on the server side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from realtime.degraded import DegradedStatus, current_degraded
from realtime.heartbeat import WorkerHeartbeat, read_heartbeats
from realtime.stream_trim import DEAD_LETTER_CAP
from realtime.streams import (
    CAMERA_HISTORY_GROUP,
    CAMERAS_GROUP,
    INGEST_GROUP,
    POSITIONS_GROUP,
    StreamNames,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Heartbeat counter → (metric name, help text).
_WORKER_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("batches", "pingan_ingest_batches_total", "Intake batches handled."),
    ("accepted", "pingan_ingest_accepted_total", "Valid reports stored (duplicates included)."),
    ("formed", "pingan_cases_formed_reports_total", "Reports formed into new or open cases."),
    ("duplicates", "pingan_ingest_duplicates_total", "Reports whose source_id was already known."),
    ("rejected", "pingan_ingest_dead_letters_total", "Entries sent to the dead letters."),
    ("published", "pingan_ingest_events_published_total", "Events put on the events stream."),
    ("claimed", "pingan_ingest_claimed_total", "Entries taken over from dead consumers."),
    ("poisoned", "pingan_ingest_poisoned_total", "Entries dead-lettered as poison."),
    ("storage_errors", "pingan_ingest_storage_errors_total", "PostgreSQL outages or timeouts."),
    ("redis_errors", "pingan_ingest_redis_errors_total", "Redis outages or timeouts."),
    ("entry_errors", "pingan_ingest_entry_errors_total", "Unexplained failures of one entry."),
    ("positions", "pingan_positions_total", "Unit position fixes ingested."),
    ("positions_sampled", "pingan_positions_sampled_total", "Fixes written to track history."),
    ("camera_updates", "pingan_camera_updates_total", "Camera status messages ingested."),
    ("camera_alarms", "pingan_camera_alarms_total", "Camera alarms sent to intake."),
)


@dataclass(frozen=True, slots=True)
class StreamLag:
    """How far one consumer group is behind its stream."""

    stream: str
    group: str
    length: int
    pending: int
    undelivered: int
    oldest_pending_age_seconds: float


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Everything /metrics reports, read at one moment."""

    at: datetime
    lags: tuple[StreamLag, ...]
    dead_letters: tuple[tuple[str, int], ...]
    events_length: int
    workers: tuple[WorkerHeartbeat, ...]
    degraded: tuple[DegradedStatus, ...]


def _id_ms(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


_UNDELIVERED_CAP = 10_000


async def undelivered_entries(redis: aioredis.Redis, stream: str, group: Any) -> int:
    """Entries the group has not read yet, from one XINFO GROUPS row of `stream`."""
    lag = group.get("lag")
    if lag is not None:
        return int(lag)
    # Redis before 7 (the embedded one is 6.2) has no lag field: count what follows the
    # group's read position, up to a cap that keeps the scrape cheap.
    after: Any = await redis.xrange(
        stream, min="(" + _text(group["last-delivered-id"]), count=_UNDELIVERED_CAP
    )
    return len(after)


async def _lag(redis: aioredis.Redis, stream: str, group: str, now: datetime) -> StreamLag | None:
    try:
        groups: Any = await redis.xinfo_groups(stream)
    except ResponseError:
        return None  # the stream does not exist yet
    info = next((g for g in groups if _text(g["name"]) == group), None)
    if info is None:
        return None
    length = int(await redis.xlen(stream))
    summary: Any = await redis.xpending(stream, group)
    pending = int(summary["pending"])
    oldest_age = 0.0
    if pending and summary.get("min"):
        oldest_age = max(0.0, now.timestamp() - _id_ms(summary["min"]) / 1000)
    lag = await undelivered_entries(redis, stream, info)
    return StreamLag(
        stream=stream,
        group=group,
        length=length,
        pending=pending,
        undelivered=lag,
        oldest_pending_age_seconds=oldest_age,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def collect_metrics(
    redis: aioredis.Redis, names: StreamNames, now: datetime
) -> MetricsSnapshot:
    """Read stream lag, dead letters, heartbeats and outages from Redis."""
    lags = []
    for stream, group in (
        (names.intake, INGEST_GROUP),
        (names.positions, POSITIONS_GROUP),
        (names.cameras, CAMERAS_GROUP),
        (names.events, CAMERA_HISTORY_GROUP),
    ):
        lag = await _lag(redis, stream, group, now)
        if lag is not None:
            lags.append(lag)
    dead = []
    for stream in (
        names.intake_dead,
        names.positions_dead,
        names.cameras_dead,
        names.camera_bridge_dead,
    ):
        dead.append((stream, int(await redis.xlen(stream))))
    return MetricsSnapshot(
        at=now,
        lags=tuple(lags),
        dead_letters=tuple(dead),
        events_length=int(await redis.xlen(names.events)),
        workers=tuple(await read_heartbeats(redis, names)),
        degraded=tuple(await current_degraded(redis, names)),
    )


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def render_prometheus(snapshot: MetricsSnapshot) -> str:
    """The snapshot in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    gauges: tuple[tuple[str, str, str], ...] = (
        ("length", "pingan_stream_length", "Entries held by the stream."),
        ("pending", "pingan_stream_pending", "Entries delivered to a consumer, not yet acked."),
        ("undelivered", "pingan_stream_undelivered", "Entries not yet read by the group."),
        (
            "oldest_pending_age_seconds",
            "pingan_stream_oldest_pending_age_seconds",
            "Age of the oldest pending entry (0 when none).",
        ),
    )
    for attribute, name, help_text in gauges:
        _family(lines, name, "gauge", help_text)
        for lag in snapshot.lags:
            value = getattr(lag, attribute)
            labels = f'stream="{_label(lag.stream)}",group="{_label(lag.group)}"'
            lines.append(f"{name}{{{labels}}} {value}")
    _family(lines, "pingan_dead_letters_cap", "gauge", "Dead letters kept per stream at most.")
    lines.append(f"pingan_dead_letters_cap {DEAD_LETTER_CAP}")
    _family(lines, "pingan_dead_letters", "gauge", "Entries held in a dead-letter stream.")
    for stream, count in snapshot.dead_letters:
        lines.append(f'pingan_dead_letters{{stream="{_label(stream)}"}} {count}')
    _family(lines, "pingan_events_stream_length", "gauge", "Entries held by the events stream.")
    lines.append(f"pingan_events_stream_length {snapshot.events_length}")
    _family(lines, "pingan_workers_alive", "gauge", "Workers with a live heartbeat.")
    lines.append(f"pingan_workers_alive {len(snapshot.workers)}")
    _family(lines, "pingan_worker_heartbeat_age_seconds", "gauge", "Since the last heartbeat.")
    for beat in snapshot.workers:
        age = max(0.0, (snapshot.at - beat.at).total_seconds())
        lines.append(
            f'pingan_worker_heartbeat_age_seconds{{consumer="{_label(beat.consumer)}"}} {age:.3f}'
        )
    for attribute, name, help_text in _WORKER_COUNTERS:
        _family(lines, name, "counter", help_text)
        for beat in snapshot.workers:
            value = getattr(beat, attribute)
            lines.append(f'{name}{{consumer="{_label(beat.consumer)}"}} {value}')
    _family(lines, "pingan_intake_unformed", "gauge", "Stored reports waiting to form cases.")
    _family(lines, "pingan_intake_unformed_oldest_age_seconds", "gauge", "0 when none wait.")
    for beat in snapshot.workers:
        consumer = _label(beat.consumer)
        since = beat.unformed_since
        age = max(0.0, (snapshot.at - since).total_seconds()) if since else 0.0
        lines.append(f'pingan_intake_unformed{{consumer="{consumer}"}} {beat.unformed}')
        lines.append(
            f'pingan_intake_unformed_oldest_age_seconds{{consumer="{consumer}"}} {age:.3f}'
        )
    _family(lines, "pingan_degraded", "gauge", "1 while a component is unavailable.")
    _family(lines, "pingan_degraded_since_seconds", "gauge", "Unix time the outage began.")
    for status in snapshot.degraded:
        component = _label(status.component)
        lines.append(f'pingan_degraded{{component="{component}"}} 1')
        lines.append(
            f'pingan_degraded_since_seconds{{component="{component}"}} '
            f"{status.since.timestamp():.3f}"
        )
    return "\n".join(lines) + "\n"


async def metrics_text(redis: aioredis.Redis, names: StreamNames, now: datetime) -> str:
    """Collect and render in one call: what a /metrics route returns."""
    return render_prometheus(await collect_metrics(redis, names, now))
