"""Start and kill real worker processes, feed reports, and check the books afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.metrics import undelivered_entries
from realtime.streams import INGEST_GROUP, StreamNames

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "tests" / "samples" / "intake-valid.jsonl"

# Fast recovery so a test of minutes sees many claims and outbox drains.
FAST_RECOVERY = {
    "PINGAN_INGEST_BATCH_SIZE": "200",
    "PINGAN_INGEST_BLOCK_MS": "100",
    "PINGAN_INGEST_CLAIM_IDLE_MS": "1500",
    "PINGAN_INGEST_CLAIM_EVERY_SECONDS": "0.5",
    "PINGAN_INGEST_OUTBOX_GRACE_SECONDS": "1",
    "PINGAN_INGEST_OUTBOX_EVERY_SECONDS": "0.5",
    "PINGAN_INGEST_MIN_BACKOFF_SECONDS": "0.05",
    "PINGAN_INGEST_MAX_BACKOFF_SECONDS": "0.5",
    "PINGAN_INGEST_STORAGE_TIMEOUT_SECONDS": "5",
    "PINGAN_INGEST_HEARTBEAT_EVERY_SECONDS": "0.2",
}


def worker_env(
    redis_url: str, database_url: str, names: StreamNames, **extra: str
) -> dict[str, str]:
    """Environment of a fault-test worker."""
    return {
        **os.environ,
        **FAST_RECOVERY,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "PINGAN_STREAM_PREFIX": names.prefix,
        **extra,
    }


def start_worker(env: Mapping[str, str], consumer: str) -> subprocess.Popen[bytes]:
    """A worker process in its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault.worker_main"],
        env={**env, "PINGAN_CONSUMER": consumer},
        cwd=ROOT,
        process_group=0,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """kill -9, no goodbye."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_gently(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM, wait, return what it wrote to stderr."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_hard(process)
    return process.stderr.read().decode("utf-8", "replace") if process.stderr else ""


@contextmanager
def worker_processes(env: Mapping[str, str], consumers: list[str]) -> Iterator[list[Any]]:
    """Several workers; every one stopped (and reaped) afterwards."""
    processes: list[Any] = [start_worker(env, name) for name in consumers]
    try:
        yield processes
    finally:
        for process in processes:
            kill_hard(process)


def report_documents(count: int, tag: str) -> list[bytes]:
    """Valid intake documents with unique source ids `<tag>-<n>`."""
    templates = [json.loads(line) for line in SAMPLES.read_text("utf-8").splitlines() if line]
    out = []
    for serial in range(count):
        document = dict(templates[serial % len(templates)])
        document["source_id"] = f"{tag}-{serial}"
        out.append(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    return out


async def feed(
    redis: aioredis.Redis, stream: str, payloads: list[bytes], per_second: float, chunk: int = 50
) -> None:
    """XADD the payloads at about the given rate, in pipelined chunks."""
    started = time.monotonic()
    for start in range(0, len(payloads), chunk):
        while True:
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for payload in payloads[start : start + chunk]:
                        pipe.xadd(stream, {"data": payload})
                    await pipe.execute()
                break
            except (RedisConnectionError, RedisTimeoutError):
                # Like a real producer: resend until Redis acknowledges; the source_id makes
                # a resent report that did arrive a harmless duplicate.
                await asyncio.sleep(0.1)
        due = started + (start + chunk) / per_second
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def pending(redis: aioredis.Redis, names: StreamNames, consumer: str | None = None) -> int:
    """Entries pending in the ingest group (on one consumer, if given)."""
    try:
        if consumer is None:
            info: Any = await redis.xpending(names.intake, INGEST_GROUP)
            return int(info["pending"])
        rows: Any = await redis.xpending_range(
            names.intake, INGEST_GROUP, min="-", max="+", count=100_000, consumername=consumer
        )
    except ResponseError:
        return 0  # no group yet: nothing was delivered
    return len(rows)


async def opened_source_ids(redis: aioredis.Redis, names: StreamNames) -> Counter[str]:
    """How often each source_id was announced (case.opened or case.report_linked)."""
    counts: Counter[str] = Counter()
    last = "-"
    while True:
        chunk: Any = await redis.xrange(names.events, min=last, count=5000)
        if last != "-":
            chunk = chunk[1:]
        if not chunk:
            return counts
        for _, fields in chunk:
            event = json.loads(fields[b"data"])
            if event["type"] in ("case.opened", "case.report_linked"):
                counts[event["source_id"]] += 1
        last = chunk[-1][0].decode()


async def books(pool: asyncpg.Pool) -> tuple[int, int, int]:
    """(cases, reports, outbox rows) in the database."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM cases) AS cases,"
            " (SELECT count(*) FROM case_reports) AS reports,"
            " (SELECT count(*) FROM event_outbox) AS outbox"
        )
    assert row is not None
    return int(row["cases"]), int(row["reports"]), int(row["outbox"])


async def settle(
    redis: aioredis.Redis,
    pool: asyncpg.Pool,
    names: StreamNames,
    expected_reports: int,
    within: float,
) -> None:
    """Wait until every report is stored, nothing is pending and the outbox is empty."""
    deadline = time.monotonic() + within
    state: tuple[int, ...] = ()
    while time.monotonic() < deadline:
        _, reports, outbox = await books(pool)
        waiting = await pending(redis, names)
        unread = await undelivered(redis, names)
        state = (reports, waiting, unread, outbox)
        if reports >= expected_reports and waiting == 0 and unread == 0 and outbox == 0:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"not settled in {within}s: (reports, pending, unread, outbox) = {state}")


async def undelivered(redis: aioredis.Redis, names: StreamNames) -> int:
    """Entries of the intake stream the group has not read yet."""
    try:
        groups: Any = await redis.xinfo_groups(names.intake)
    except ResponseError:
        return 1  # no group yet: nothing has been read
    group = next((g for g in groups if g["name"] in (INGEST_GROUP, INGEST_GROUP.encode())), None)
    return 1 if group is None else await undelivered_entries(redis, names.intake, group)
