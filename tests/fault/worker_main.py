"""A real ingest worker process for fault tests: python -m tests.fault.worker_main [ROLE].

ROLE is `both` (intake and case former, the default), `intake` or `former`. Reads
REDIS_URL, DATABASE_URL, PINGAN_STREAM_PREFIX, PINGAN_CONSUMER and PINGAN_INGEST_*.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import asyncpg
import redis.asyncio as aioredis

from geo.pack import load_demo_pack
from realtime.ingest import IngestSettings
from realtime.placement import locate_in
from realtime.streams import StreamNames
from realtime.worker import run_former, run_worker


async def main(role: str) -> None:
    """Run until SIGTERM (or until killed, which is the point)."""
    locate = locate_in(load_demo_pack()) if role != "former" else None
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    redis = aioredis.Redis.from_url(
        os.environ["REDIS_URL"], socket_timeout=None, socket_connect_timeout=2
    )
    pool = await _pool_when_ready(os.environ["DATABASE_URL"])
    names = StreamNames(os.environ.get("PINGAN_STREAM_PREFIX", ""))
    consumer = os.environ.get("PINGAN_CONSUMER", f"fault-{role}-{os.getpid()}")
    settings = IngestSettings.from_env()
    try:
        if locate is None:
            await run_former(
                redis, pool, names=names, consumer=consumer, settings=settings, stop=stop
            )
        else:
            await run_worker(
                redis,
                pool,
                locate,
                names=names,
                consumer=consumer,
                settings=settings,
                stop=stop,
                form=role == "both",
            )
    finally:
        await pool.close()
        await redis.aclose()


async def _pool_when_ready(url: str) -> asyncpg.Pool:
    # A restarted database may not accept connections yet; the pool must exist to begin.
    for _ in range(100):
        try:
            return await asyncpg.create_pool(url, min_size=1, max_size=3)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.2)
    raise SystemExit("database never became reachable")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    role = sys.argv[1] if len(sys.argv) > 1 else "both"
    if role not in {"both", "intake", "former"}:
        raise SystemExit(f"unknown role {role!r}: both, intake or former")
    asyncio.run(main(role))
