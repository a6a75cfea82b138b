"""The camera registry in PostgreSQL: the demo network loaded once, read back whole."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
import pytest

from geo.pack import load_demo_pack
from incidents.store.camera_store import load_demo_cameras, registered_cameras, upsert_cameras

pytestmark = pytest.mark.integration


async def test_the_demo_network_loads_idempotently_and_reads_back_equal(
    pool: asyncpg.Pool,
) -> None:
    """Every camera of the pack stored; a second load writes nothing; a change is one row."""
    pack = load_demo_pack()
    async with pool.acquire() as conn:
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
