"""The simulator against a real Redis: valid reports, the intended bad ones, rate 0, outages."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from realtime.cameras import decode_camera
from realtime.intake_contract import IntakeRejected, decode_intake
from realtime.positions import decode_fix
from realtime.sim_cameras import CameraSettings
from realtime.sim_reports import CHINA
from realtime.sim_scenarios import Scenario
from realtime.simulator import SimConfig, SimStats, main, run_simulation, valid_source_ids
from realtime.streams import StreamNames

pytestmark = pytest.mark.integration

EVENING = datetime(2026, 11, 27, 18, 0, tzinfo=CHINA)  # a Friday's evening peak


async def simulate(redis: aioredis.Redis, names: StreamNames, **options: Any) -> SimStats:
    settings: dict[str, Any] = {
        "seed": 5,
        "speed": 60.0,
        "rate": 20.0,
        "duration_seconds": 2.0,
        "sim_start": EVENING,
        "cameras": 200,
        "malformed_share": 0.1,
        "tick_seconds": 0.1,
        "camera_settings": CameraSettings(alarms_per_hour=120),
    }
    settings.update(options)
    return await run_simulation(SimConfig(**settings), asyncio.Event(), redis=redis, names=names)


async def test_a_short_run_writes_valid_reports_and_exactly_the_intended_malformed_ones(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Every intake entry either passes the contract or is one the simulator meant to break."""
    stats = await simulate(redis, names)
    entries: Any = await redis.xrange(names.intake)
    assert len(entries) == sum(stats.reports.values()) > 15
    accepted, rejected = [], 0
    for _, fields in entries:
        try:
            accepted.append(decode_intake(fields).source_id)
        except IntakeRejected:
            rejected += 1
    assert rejected == stats.reports["malformed"] == sum(stats.malformed.values()) > 0
    assert sorted(accepted) == sorted(valid_source_ids(stats))
    assert len(set(accepted)) == len(accepted)


async def test_positions_and_cameras_pass_their_contracts(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """The positions and cameras entries decode on the stack's own validators."""
    stats = await simulate(redis, names)
    now = datetime.now(CHINA)
    fixes: Any = await redis.xrange(names.positions)
    assert len(fixes) == stats.positions > 0
    units = {decode_fix(fields, now).unit_id for _, fields in fixes}
    assert len(units) > 30
    cameras: Any = await redis.xrange(names.cameras)
    assert len(cameras) == sum(stats.camera_messages.values()) > 0
    statuses = Counter(decode_camera(fields, now).status for _, fields in cameras)
    assert statuses["online"] > 0 and statuses["alarm"] == len(stats.alarm_source_ids) > 0


async def test_rate_zero_writes_no_reports_and_keeps_running(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Rate 0: no intake entries at all, no error, units and cameras still go on."""
    stats = await simulate(redis, names, rate=0.0)
    assert await redis.xlen(names.intake) == 0
    assert stats.errors == 0 and stats.ticks > 5
    assert stats.positions > 0


async def test_a_scenario_sends_an_escalating_burst_at_one_place_with_camera_alarms(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Chemical leak at 60x: several channels, severity rising to I, all within 200 m."""
    stats = await simulate(
        redis,
        names,
        rate=0.0,
        units=False,
        scenario=Scenario.CHEMICAL_LEAK,
        scenario_after_seconds=0.0,
        duration_seconds=15.0,
        tick_seconds=0.2,
        camera_settings=CameraSettings(alarms_per_hour=0),
    )
    entries: Any = await redis.xrange(names.intake)
    reports = [decode_intake(fields) for _, fields in entries]
    assert len(reports) == stats.reports["scenario"] == 7
    assert {r.channel for r in reports} >= {"grid", "110", "12345", "sos"}
    assert {r.category for r in reports} == {"safety_production", "emergency"}
    assert all("泄漏" in r.summary for r in reports)
    assert min(r.effective_severity for r in reports) == 1
    lons = [r.location.lon for r in reports]
    assert (max(lons) - min(lons)) * 95_000 < 400
    assert len(stats.alarm_source_ids) == 2


async def test_the_simulator_rides_out_a_redis_outage(names: StreamNames) -> None:
    """Pointed at a Redis that is not there, it logs, backs off and returns at the end."""
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        stats = await simulate(dead, names, duration_seconds=1.5, units=False)
    finally:
        await dead.aclose()
    assert stats.errors > 0 and sum(stats.reports.values()) == 0


def test_main_runs_from_the_command_line_and_prints_what_it_sent(
    servers: tuple[str, str],
    names: StreamNames,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`main([...])` with --duration runs, prints its counts as JSON, and exits 0."""
    redis_url, _ = servers
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("PINGAN_STREAM_PREFIX", names.prefix)
    argv = ["--seed", "3", "--speed", "60", "--rate", "10", "--duration", "1.5"]
    assert main([*argv, "--no-terminals", "--cameras", "50"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["errors"] == 0 and printed["positions"] > 0

    async def cleanup() -> int:
        client = aioredis.Redis.from_url(redis_url)
        keys = [k async for k in client.scan_iter(match=names.prefix + "*")]
        count: int = await client.xlen(names.intake)
        if keys:
            await client.delete(*keys)
        await client.aclose()
        return count

    assert asyncio.run(cleanup()) == sum(printed["reports"].values()) > 0


async def test_the_same_seed_and_start_write_the_same_reports(
    redis: aioredis.Redis, names: StreamNames
) -> None:
    """Two runs, one seed, one start: the same citizens' reports (but for the stamp), in order.

    Units run too; grid workers' discoveries depend on tick timing, so they have a series
    (`-g-`) and a generator of their own, and are left out of the comparison.
    """

    async def documents(prefix: str, seed: int) -> list[dict[str, Any]]:
        run_names = StreamNames(names.prefix + prefix)
        await simulate(redis, run_names, seed=seed, cameras=0, tag="replay")
        entries: Any = await redis.xrange(run_names.intake)
        out = []
        for _, fields in entries:
            try:
                doc = json.loads(fields[b"data"])
            except ValueError:
                doc = {"invalid_json": fields[b"data"].decode()[:40]}
            doc.pop("reported_at", None)
            if "-g-" not in str(doc.get("source_id", "")):
                out.append(doc)
        return out

    first = await documents("a:", 5)
    assert len(first) > 15
    assert first == await documents("b:", 5)
    assert first != await documents("c:", 6)


def test_source_ids_are_fresh_for_every_start_unless_a_tag_is_given() -> None:
    """A restarted simulator never reuses ids; a tag replays them."""
    assert SimConfig(seed=1).source_tag(EVENING) != SimConfig(seed=1).source_tag(
        EVENING + timedelta(seconds=1)
    )
    assert SimConfig(seed=1, tag="x").source_tag(EVENING) == "x"
