"""The realtime backbone on a local Redis Cluster: one county's keys share a slot by hash tag."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio.cluster import RedisCluster
from websockets.asyncio.client import connect

from realtime.cameras import CamerasConsumer
from realtime.gateway import Gateway, GatewaySettings
from realtime.positions import PositionsConsumer, store_tracks_in
from realtime.streams import StreamNames
from tests.fault.processes import report_documents
from tests.integration.test_ingest import make_worker
from tests.stack import free_port, listening

pytestmark = pytest.mark.integration


def cluster_port(taken: set[int]) -> int:
    """A free port whose cluster-bus port (port + 10000) is free too."""
    rng = random.Random()
    while True:
        port = rng.randrange(20000, 30000)
        if port in taken:
            continue
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        taken.add(port)
        return port


@contextmanager
def redis_cluster(nodes: int = 3) -> Iterator[int]:
    """Start a cluster of `nodes` masters on loopback; yield one node's port."""
    folder = Path(tempfile.mkdtemp(prefix="pingan-cluster-"))
    taken: set[int] = set()
    ports = [cluster_port(taken) for _ in range(nodes)]
    processes = []
    try:
        for port in ports:
            node = folder / str(port)
            node.mkdir()
            processes.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    cwd=node,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            deadline = time.monotonic() + 10
            while (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True
                ).stdout.strip()
                != b"PONG"
            ):
                assert time.monotonic() < deadline, "cluster node did not start"
                time.sleep(0.05)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while (
            b"cluster_state:ok"
            not in subprocess.run(
                ["redis-cli", "-p", str(ports[0]), "cluster", "info"], capture_output=True
            ).stdout
        ):
            assert time.monotonic() < deadline, "cluster never became ok"
            time.sleep(0.1)
        yield ports[0]
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


async def test_ingest_positions_cameras_and_gateway_on_a_cluster(pool: asyncpg.Pool) -> None:
    """With the prefix {320118}: every multi-key step (MULTI, Lua, XREAD) works on a cluster."""
    with redis_cluster() as port:
        redis = RedisCluster(host="127.0.0.1", port=port, socket_timeout=None)
        names = StreamNames("{320118}:")
        try:
            worker = make_worker(redis, pool, names, claim_idle_ms=0)
            await worker.ensure_group()
            gateway_port = free_port()
            stop = asyncio.Event()
            gateway = asyncio.create_task(
                Gateway(redis, pool, names, GatewaySettings(require_session=False)).serve(
                    "127.0.0.1", gateway_port, stop
                )
            )
            await listening(gateway_port)
            ws = await connect(f"ws://127.0.0.1:{gateway_port}/live")
            await ws.send(json.dumps({"type": "subscribe", "scope": "320118", "batch": True}))
            assert json.loads(await ws.recv())["type"] == "snapshot"

            for document in report_documents(30, "cluster"):
                await redis.xadd(names.intake, {"data": document})
            await redis.xadd(names.intake, {"data": b"not a report"})
            while await worker.process_once():
                pass
            await worker.claim_abandoned()
            await worker.drain_outbox(older_than_seconds=0)
            seen: set[str] = set()
            while len(seen) < 30:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                # One event per report (opened or linked); screens get them in short form.
                seen.update(d["id"] for d in message.get("deltas", []))
            assert await redis.xlen(names.intake_dead) == 1

            tracks = PositionsConsumer(redis, store_tracks_in(pool), names=names, consumer="t1")
            cameras = CamerasConsumer(redis, names=names, consumer="c1")
            await tracks.ensure_group()
            await cameras.ensure_group()
            at = datetime.now(UTC).isoformat()  # near the consumers' clock
            fix = {"unit_id": "patrol-1", "lon": 118.88, "lat": 31.33, "at": at}
            await redis.xadd(names.positions, {"data": json.dumps(fix)})
            status = {"camera_id": "cam-1", "status": "offline", "at": at}
            await redis.xadd(names.cameras, {"data": json.dumps(status)})
            assert await tracks.process_once() == 1
            assert await cameras.process_once() == 1
            latest: Any = await redis.hget(names.units_latest, "patrol-1")
            assert json.loads(latest)["lat"] == 31.33
            assert cameras.stats.changes == 1
            await ws.close()
            stop.set()
            await gateway
        finally:
            await redis.aclose()
