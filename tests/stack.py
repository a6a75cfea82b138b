"""Start the real processes of the stack for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def listening(port: int) -> None:
    """Wait (up to 15 s) until 127.0.0.1:`port` accepts connections (a server just started)."""
    import asyncio

    async with asyncio.timeout(15):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


@dataclass(frozen=True)
class RunningStack:
    """Where the started stack listens."""

    base_url: str
    ws_port: int
    stream_prefix: str
    env: dict[str, str]


@contextmanager
def running_stack(
    redis_url: str,
    database_url: str,
    stream_prefix: str,
    processes: Sequence[str] = ("worker", "gateway", "serve"),
    ready_timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningStack]:
    """Run app.py subcommands against the given servers; stop every process afterwards."""
    # A port free_port() found can be taken by another process before a child binds it:
    # start again on fresh ports when that happens (it is the test machine's race, not ours).
    for attempt in range(3):
        port, ws_port = free_port(), free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "PINGAN_STREAM_PREFIX": stream_prefix,
            "PORT": str(port),
            "PINGAN_WS_PORT": str(ws_port),
            **(extra_env or {}),
        }
        children = [
            subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), *name.split()],
                env=env,
                cwd=ROOT,
                process_group=0,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for name in processes
        ]
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base_url, children, ready_timeout)
            break
        except RuntimeError as failed:
            _stop(children)
            if "address already in use" not in str(failed) or attempt == 2:
                raise
    try:
        yield RunningStack(base_url, ws_port, stream_prefix, env)
    finally:
        _stop(children)


def _stop(children: Sequence[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _wait_ready(base_url: str, children: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                err = child.stderr.read().decode("utf-8", "replace") if child.stderr else ""
                raise RuntimeError(f"{child.args} exited with {child.returncode}:\n{err[-3000:]}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"stack at {base_url} not ready within {timeout}s")
