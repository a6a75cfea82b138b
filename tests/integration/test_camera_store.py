"""The camera registry in PostgreSQL: the demo network loaded once, read back whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from geo.pack import load_demo_pack
from incidents.store.camera_store import (
    StatusChange,
    camera_overview,
    load_demo_cameras,
    record_status_changes,
    registered_cameras,
    upsert_cameras,
)

pytestmark = pytest.mark.integration


async def test_the_demo_network_loads_idempotently_and_reads_back_equal(
    pool: asyncpg.Pool,
) -> None:
    """Every camera of the pack stored; a second load writes nothing; a change is one row."""
    pack = load_demo_pack()
    async with pool.acquire() as conn:
        # `app.py migrate` loaded the network into the test database's template already.
        await conn.execute("DELETE FROM cameras")
        assert await load_demo_cameras(conn, pack) == len(pack.cameras)
        assert await load_demo_cameras(conn, pack) == 0
        stored = await registered_cameras(conn)
        moved = replace(pack.cameras[0], heading_deg=123.5, name="高淳老街东口1号")
        assert await upsert_cameras(conn, [moved]) == 1
        first = (await registered_cameras(conn))[0]
        town = pack.cameras[0].township_code
        mine = await registered_cameras(conn, town)
    assert len(stored) == len(pack.cameras) > 1000
    by_code = {c.code: c for c in pack.cameras}
    for camera in stored:
        expected = by_code[camera.code]
        assert camera.placement == expected.placement
        assert camera.township_code == expected.township_code
        assert (camera.lon, camera.lat) == (expected.lon, expected.lat)
        assert camera.heading_deg == pytest.approx(expected.heading_deg % 360, abs=1e-4)
        assert camera.fov_deg == expected.fov_deg
    assert {c.placement.value for c in stored} == {"point", "line", "area"}
    assert (first.code, first.heading_deg, first.name) == (moved.code, 123.5, "高淳老街东口1号")
    assert {c.township_code for c in mine} == {town}
    assert len(mine) == sum(c.township_code == town for c in pack.cameras)


async def test_a_camera_must_belong_to_a_known_township(pool: asyncpg.Pool) -> None:
    """The registry refuses an owner outside the jurisdiction tree."""
    camera = replace(load_demo_pack().cameras[0], code="x-1", township_code="999999999999")
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await upsert_cameras(conn, [camera])


async def test_the_overview_of_a_township_reads_registry_and_history(pool: asyncpg.Pool) -> None:
    """Rates and down cameras from the latest recorded change of each of its cameras."""
    pack = load_demo_pack()
    town = pack.cameras[0].township_code
    mine = [c for c in pack.cameras if c.township_code == town][:3]
    elsewhere = next(c for c in pack.cameras if c.township_code != town)
    t0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    def change(n: int, camera_id: str, status: str, minute: int) -> StatusChange:
        return StatusChange(f"1-{n}", camera_id, t0 + timedelta(minutes=minute), status, None,
                            "reported", f"camera:{camera_id}")  # fmt: skip

    async with pool.acquire() as conn:
        await load_demo_cameras(conn, pack)
        await record_status_changes(
            conn,
            [
                change(1, mine[0].code, "online", 0),
                change(2, mine[1].code, "online", 0),
                change(3, mine[1].code, "offline", 10),
                change(4, mine[2].code, "offline", 0),
                change(5, mine[2].code, "online", 20),
                change(6, elsewhere.code, "offline", 0),
            ],
        )
        seen = await camera_overview(conn, t0 + timedelta(hours=1), town)
    total = sum(c.township_code == town for c in pack.cameras)
    assert [(r.key, r.total, r.online, r.down) for r in seen.by_township] == [(town, total, 2, 1)]
    assert sum(r.total for r in seen.by_placement) == total
    assert [(d.camera_id, d.down_seconds) for d in seen.down] == [(mine[1].code, 50 * 60)]
