"""Server-side keepalive check after GB/T 28181: three missed keepalives and a camera is offline.

A GB/T 28181 device sends a Keepalive every 60 s; the server counts it offline after three
missed ones (the standard's defaults), even if it never says so. The cameras consumer keeps
`cameras:seen`, a sorted set of when each camera not believed offline was last heard. A scan
reads only the cameras silent past the limit (ZRANGEBYSCORE: log N plus the silent few, not
all 20,000), and one Lua script takes each off the set, unless it was heard meanwhile, and
puts an `offline` notice on the cameras stream with cause `keepalive_timeout`. The notice
then goes the same way as a reported status: one change event, the history, screens.

The notice is stamped at the keepalive deadline (last heard + three intervals), not at the
scan, and the consumer applies it only if the camera was not heard within the timeout
before that: a keepalive still on its way through the stream when the scan ran voids it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import redis.asyncio as aioredis

from realtime.cameras import KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_MISSED, CameraStatus
from realtime.outages import run_until_stopped
from realtime.streams import StreamNames

log = logging.getLogger(__name__)

# Never stamp a notice older than this: the consumer refuses statuses a day old. (Stamping
# later than the deadline keeps the consumer's heard-by guard satisfied.)
_OLDEST_STAMP = timedelta(hours=23)

# KEYS: seen sorted set, cameras stream. ARGV: count, then per camera: id, score, notice.
_MARK_OFFLINE = """
local n = tonumber(ARGV[1])
local marked = 0
for k = 0, n - 1 do
  local camera, score, notice = ARGV[2 + 3 * k], ARGV[3 + 3 * k], ARGV[4 + 3 * k]
  local now_seen = redis.call('ZSCORE', KEYS[1], camera)
  -- Heard again since the scan read it: it is not silent any more.
  if now_seen and tonumber(now_seen) == tonumber(score) then
    redis.call('ZREM', KEYS[1], camera)
    redis.call('XADD', KEYS[2], '*', 'data', notice, 'cause', 'keepalive_timeout')
    marked = marked + 1
  end
end
return marked
"""


@dataclass(frozen=True, slots=True)
class KeepaliveSettings:
    """GB/T 28181 keepalive: the interval, how many may be missed, and the scan's pace."""

    interval_seconds: float = KEEPALIVE_INTERVAL_SECONDS
    missed: int = KEEPALIVE_MISSED
    scan_every_seconds: float = 5.0
    batch_size: int = 2000

    @property
    def timeout(self) -> timedelta:
        """Silence longer than this means offline."""
        return timedelta(seconds=self.interval_seconds * self.missed)


@dataclass
class KeepaliveStats:
    """Counters for heartbeats, tests and the bench."""

    scans: int = 0
    marked_offline: int = 0


class KeepaliveScanner:
    """Finds cameras silent for longer than the keepalive timeout and marks them offline."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: StreamNames,
        settings: KeepaliveSettings | None = None,
    ) -> None:
        self._redis = redis
        self._names = names
        self.settings = settings or KeepaliveSettings()
        self._script = redis.register_script(_MARK_OFFLINE)
        self.stats = KeepaliveStats()

    async def scan(self, now: datetime) -> int:
        """Mark every camera silent past the timeout at `now` offline; return how many."""
        timeout = self.settings.timeout
        # Strictly older than the limit: at exactly three intervals the third is only due.
        cutoff = f"({int((now - timeout).timestamp() * 1000)}"
        total = 0
        while True:
            silent: Any = await self._redis.zrangebyscore(
                self._names.cameras_seen,
                "-inf",
                cutoff,
                start=0,
                num=self.settings.batch_size,
                withscores=True,
            )
            if not silent:
                break
            args: list[Any] = [len(silent)]
            for member, score in silent:
                camera_id = member.decode() if isinstance(member, bytes) else str(member)
                args += [camera_id, int(score), offline_notice(camera_id, int(score), now, timeout)]
            marked: Any = await self._script(
                keys=[self._names.cameras_seen, self._names.cameras], args=args
            )
            total += int(marked)
            if len(silent) < self.settings.batch_size:
                break
        self.stats.scans += 1
        self.stats.marked_offline += total
        return total


def offline_notice(camera_id: str, last_seen_ms: int, now: datetime, timeout: timedelta) -> bytes:
    """The cameras-stream document saying a silent camera went offline at its deadline."""
    deadline = datetime.fromtimestamp(last_seen_ms / 1000, UTC) + timeout
    at = min(max(deadline, now - _OLDEST_STAMP), now)
    return msgspec.json.encode(CameraStatus(camera_id, "offline", at))


async def watch_cameras(
    redis: aioredis.Redis, names: StreamNames, camera_ids: Iterable[str], now: datetime
) -> int:
    """Start the keepalive clock for registered cameras never heard yet; return how many."""
    ids = list(camera_ids)
    added = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        # NX: a camera already heard keeps its own time.
        count: Any = await redis.zadd(
            names.cameras_seen, dict.fromkeys(chunk, int(now.timestamp() * 1000)), nx=True
        )
        added += int(count)
    return added


async def run_camera_keepalive(
    redis: aioredis.Redis,
    names: StreamNames,
    stop: asyncio.Event,
    settings: KeepaliveSettings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Scan for silent cameras every few seconds until `stop`; outages back off and resume."""
    scanner = KeepaliveScanner(redis, names, settings)

    async def tick() -> None:
        marked = await scanner.scan(clock())
        if marked:
            log.info("keepalive: %d silent cameras marked offline", marked)

    await run_until_stopped(
        "camera keepalive", tick, stop, every_seconds=scanner.settings.scan_every_seconds
    )
