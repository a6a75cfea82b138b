"""Attack suite, the read side and commands as screens use them: every route decided and every
refusal audited, on real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from incidents.access import Principal, Role
from incidents.case import Tier
from incidents.commands import Accept, HandDown
from incidents.store import guarded
from incidents.store.accounts import audit_entries
from incidents.store.guarded import Caller, Refused
from incidents.store.queries import QueueFilter
from incidents.store.service import CaseService
from tests.integration.test_ingest import FIXED_NOW, valid_lines
from tests.integration.test_queries import opened

pytestmark = pytest.mark.integration

NOW = FIXED_NOW + timedelta(days=1)
COUNTY = "320118000000"


def caller(user: str, role: Role, jurisdiction: str) -> Caller:
    """A signed-in principal at an address."""
    return Caller(Principal(user, role, jurisdiction), "10.1.2.3")


async def townships_of(pool: asyncpg.Pool, ids: list[int]) -> dict[int, str]:
    """Each case's township code."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, township_code FROM cases WHERE id = ANY($1)", ids)
    return {row["id"]: row["township_code"] for row in rows}


async def two_townships(pool: asyncpg.Pool) -> tuple[list[int], int, str, int, str]:
    """The sample cases, and one case in each of two different townships."""
    ids = await opened(pool, valid_lines())
    places = await townships_of(pool, ids)
    mine = next(i for i in ids if places[i])
    other = next(i for i in ids if places[i] and places[i] != places[mine])
    return ids, mine, places[mine], other, places[other]


async def test_another_townships_case_is_refused_on_every_route_and_audited(
    pool: asyncpg.Pool,
) -> None:
    """Read, reveal, change: each refused in words that do not tell a forged id from a real one."""
    _, mine, my_township, other, _ = await two_townships(pool)
    me = caller("wang", Role.TOWNSHIP_COORDINATOR, my_township)
    service = CaseService(pool, None)
    async with pool.acquire() as conn:
        assert (await guarded.case_panel(conn, me, mine, NOW)).case.id == mine
        attempts = [
            guarded.case_panel(conn, me, other, NOW),
            guarded.reveal_reporter(conn, me, other, NOW, "checking"),
            guarded.execute(service, conn, me, other, Accept(actor="wang"), NOW),
            guarded.case_panel(conn, me, 987_654_321, NOW),  # a forged id
            guarded.case_panel(conn, me, -1, NOW),
        ]
        reasons = []
        for attempt in attempts:
            with pytest.raises(Refused) as refused:
                await attempt
            reasons.append(refused.value.reason)
        assert reasons == ["outside your jurisdiction"] * len(attempts)
        trail = await audit_entries(conn, user_id="wang", outcome="refused")
        assert len(trail) == len(attempts)
        assert {e.case_id for e in trail} == {other, 987_654_321, -1}
        assert all(
            e.source_address == "10.1.2.3" and e.role == "township_coordinator" for e in trail
        )


async def test_a_crafted_queue_filter_never_widens_the_callers_scope(pool: asyncpg.Pool) -> None:
    """Asking for the whole county, another township or nothing gives one's own cases only."""
    ids, _, my_township, _, other_township = await two_townships(pool)
    places = await townships_of(pool, ids)
    me = caller("wang", Role.TOWNSHIP_COORDINATOR, my_township)
    own = {i for i in ids if places[i] == my_township}
    async with pool.acquire() as conn:
        for within in ("", "320118", other_township, "%", "' OR 1=1 --", my_township[:9]):
            page = await guarded.queue(conn, me, QueueFilter(within=within, limit=500), NOW)
            assert {c.id for c in page.cases} == own, within
            assert page.total == len(own)


async def test_the_county_hands_a_case_down_and_the_township_may_act_then_only_view_it(
    pool: asyncpg.Pool,
) -> None:
    """Handed down: actionable in the township; owned by the county: only visible there."""
    _, mine, my_township, _, _ = await two_townships(pool)
    duty = caller("duty-li", Role.COUNTY_DUTY_OFFICER, COUNTY)
    me = caller("wang", Role.TOWNSHIP_COORDINATOR, my_township)
    service = CaseService(pool, None)
    async with pool.acquire() as conn:
        await guarded.execute(service, conn, duty, mine, Accept(actor="duty-li"), NOW)
        with pytest.raises(Refused) as refused:
            await guarded.reveal_reporter(conn, me, mine, NOW, "call back")
        assert "owned by the county" in refused.value.reason
        down = HandDown(actor="duty-li", to_tier=Tier.TOWNSHIP, reason="属地处置")
        await guarded.execute(service, conn, duty, mine, down, NOW)
        await guarded.reveal_reporter(conn, me, mine, NOW, "call back")
        revealed = await audit_entries(conn, action="personal_data.revealed")
        assert [(e.user_id, e.case_id, e.detail) for e in revealed] == [
            ("wang", mine, "reason: call back")
        ]


async def test_roles_that_must_not_see_personal_data_cannot_reveal_it(pool: asyncpg.Pool) -> None:
    """Analyst, wall screen, grid worker and auditor are refused a reveal; no reason, no reveal."""
    _, mine, _, _, _ = await two_townships(pool)
    async with pool.acquire() as conn:
        for role in (Role.COUNTY_ANALYST, Role.WALL_SCREEN, Role.AUDITOR, Role.FIELD_UNIT):
            with pytest.raises(Refused):
                await guarded.reveal_reporter(conn, caller("x", role, COUNTY), mine, NOW, "why")
        duty = caller("duty-li", Role.COUNTY_DUTY_OFFICER, COUNTY)
        with pytest.raises(Refused, match="say why"):
            await guarded.reveal_reporter(conn, duty, mine, NOW, "  ")
        assert not await audit_entries(conn, action="personal_data.revealed")
        # The wall may list cases but never open one's panel.
        with pytest.raises(Refused):
            await guarded.case_panel(conn, caller("wall", Role.WALL_SCREEN, COUNTY), mine, NOW)


async def test_a_command_in_someone_elses_name_is_refused(pool: asyncpg.Pool) -> None:
    """A crafted callback naming another actor changes nothing and is audited."""
    _, mine, _, _, _ = await two_townships(pool)
    duty = caller("duty-li", Role.COUNTY_DUTY_OFFICER, COUNTY)
    service = CaseService(pool, None)
    async with pool.acquire() as conn:
        version = await conn.fetchval("SELECT version FROM cases WHERE id = $1", mine)
        with pytest.raises(Refused, match="your own name"):
            await guarded.execute(service, conn, duty, mine, Accept(actor="director"), NOW)
        assert await conn.fetchval("SELECT version FROM cases WHERE id = $1", mine) == version
        [entry] = await audit_entries(conn, outcome="refused")
        assert entry.detail == "actor is not the caller"


async def test_merging_into_a_case_outside_ones_jurisdiction_reads_as_no_such_number(
    pool: asyncpg.Pool,
) -> None:
    """合并 names its target by number: outside the caller's scope or unknown, the same words."""
    _, mine, my_township, other, _ = await two_townships(pool)
    duty = caller("duty-li", Role.COUNTY_DUTY_OFFICER, COUNTY)
    me = caller("wang", Role.TOWNSHIP_COORDINATOR, my_township)
    service = CaseService(pool, None)
    async with pool.acquire() as conn:
        # Handed down, the case is the township's to act on (and so to merge).
        down = HandDown(actor="duty-li", to_tier=Tier.TOWNSHIP, reason="属地处置")
        await guarded.execute(service, conn, duty, mine, down, NOW)
        other_no = await conn.fetchval("SELECT case_no FROM cases WHERE id = $1", other)
        reasons = []
        for number in (other_no, "320118-20990101-9999"):
            with pytest.raises(guarded.TargetRefused) as refused:
                await guarded.merge(service, conn, me, mine, number, NOW)
            reasons.append(refused.value.reason)
        assert reasons == [guarded.NO_CASE_WITH_NUMBER] * 2
        trail = await audit_entries(conn, user_id="wang", outcome="refused")
        assert {e.case_id for e in trail} == {mine, other}, "both refusals are on the trail"
        status = await conn.fetchval("SELECT status FROM cases WHERE id = $1", mine)
        assert status == "open", "nothing merged"


async def test_around_a_case_lists_only_the_units_and_cameras_of_the_callers_jurisdiction(
    pool: asyncpg.Pool,
) -> None:
    """A township sees its own forces and cameras; the county sees every township's."""
    from geo.pack import load_demo_pack
    from incidents.store.camera_store import load_demo_cameras
    from incidents.store.demo_fleet import load_demo_units

    _, mine, my_township, _, _ = await two_townships(pool)
    async with pool.acquire() as conn:
        await load_demo_units(conn, load_demo_pack(), at=NOW)
        await load_demo_cameras(conn, load_demo_pack())
        town = await guarded.around_case(
            conn, caller("wang", Role.TOWNSHIP_COORDINATOR, my_township), mine, NOW
        )
        county = await guarded.around_case(
            conn, caller("li", Role.COUNTY_DUTY_OFFICER, COUNTY), mine, NOW
        )
    prefix = my_township.rstrip("0")[:9]
    assert town.units and all(u.unit.home_code.startswith(prefix) for u in town.units)
    assert town.cameras and all(c.township_code.startswith(prefix) for c in town.cameras)
    assert len(county.units) > len(town.units) and len(county.cameras) > len(town.cameras)
    assert {c.township_code[:9] for c in county.cameras} - {prefix}, "other townships too"
    elsewhere = next(c for c in county.cameras if not c.township_code.startswith(prefix))
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO camera_status_history (event_id, camera_id, at, status, cause, actor)"
            " SELECT 'test-' || code, code, $1, 'online', 'reported', 'test' FROM cameras"
            " WHERE code = ANY($2::text[])",
            NOW,
            [c.code for c in town.cameras[:3]] + [elsewhere.code],
        )
        picked = await guarded.around_case(
            conn,
            caller("wang", Role.TOWNSHIP_COORDINATOR, my_township),
            mine,
            NOW,
            lambda cameras: [c.code for c in cameras[1:3]] + [elsewhere.code],
        )
    # Only the statuses asked for, and never of a camera outside the caller's jurisdiction.
    assert set(picked.statuses) == {c.code for c in town.cameras[1:3]}
    assert len(picked.cameras) == len(town.cameras)
