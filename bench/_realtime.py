"""Shared pieces of the realtime benches: real worker and gateway processes, payloads, stats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import _support  # noqa: F401  (puts the project on sys.path)
from realtime.streams import StreamNames

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of the values fall (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report_document(serial: int, tag: str, lon: float, lat: float) -> bytes:
    """A valid intake/1 document with a unique source_id and a point in the county."""
    return json.dumps(
        {
            "schema": "intake/1",
            "source_id": f"{tag}-{serial}",
            "channel": "110",
            "category": "public_security",
            "summary": "老街附近有人酒后滋事，与路人发生推搡",
            "location": {"lon": lon, "lat": lat},
            "reported_at": "2026-11-26T10:00:00+08:00",
        },
        ensure_ascii=False,
    ).encode()


@contextmanager
def processes(
    argvs: Sequence[Sequence[str]],
    redis_url: str,
    database_url: str,
    names: StreamNames,
    **env: str,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start real processes of the stack; stop them (and their children) afterwards."""
    full_env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "PINGAN_STREAM_PREFIX": names.prefix,
        **env,
    }
    started = [
        subprocess.Popen(
            [sys.executable, *argv],
            env=full_env,
            cwd=ROOT,
            process_group=0,
            stdout=subprocess.DEVNULL,
        )
        for argv in argvs
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


WORKER = ("-m", "tests.fault.worker_main")  # intake and case former in one process
INTAKE_WORKER = ("-m", "tests.fault.worker_main", "intake")
FORMER = ("-m", "tests.fault.worker_main", "former")
GATEWAY = ("app.py", "gateway")
