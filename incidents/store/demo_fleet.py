"""The demo county's fleet: every township's forces, the county seat's emergency units,
duty rosters and one patrol route per township through its key places and village centres.

Patrol cars and foot patrols are named `patrol-TT-N` (TT: the township's place in the pack,
N: 1–5), the ids the position simulator already moves, so its dots are real units.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from geo.pack import CountyPack, Division
from geo.places import PlaceKind
from incidents.patrols import CheckInPoint, PatrolRoute, distance_m
from incidents.store.case_store import Conn
from incidents.store.unit_store import insert_units, save_rosters, save_route
from incidents.units import (
    DAY_SHIFT,
    NIGHT_SHIFT,
    Roster,
    Shift,
    Unit,
    UnitStatus,
    UnitType,
    make_unit,
)

DEMO_SEED = 13
ROUND_THE_CLOCK: tuple[Shift, ...] = (DAY_SHIFT, NIGHT_SHIFT)
_ROUTE_PLACES = frozenset(
    {
        PlaceKind.SCHOOL,
        PlaceKind.MARKET,
        PlaceKind.HEALTH_CENTRE,
        PlaceKind.GOVERNMENT,
        PlaceKind.CHEMICAL_PLANT,
        PlaceKind.INDUSTRIAL_PARK,
        PlaceKind.POLDER,
        PlaceKind.SCENIC_SPOT,
    }
)
_MAX_VILLAGE_POINTS = 6


@dataclass(frozen=True, slots=True)
class DemoFleet:
    """What `load_demo_units` added (zero everywhere on a second run)."""

    units: int
    routes: int


def _short(name: str) -> str:
    """A township's radio prefix: its name without 街道 / 镇 (淳溪街道 → 淳溪)."""
    for suffix in ("街道", "镇", "乡"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _township_units(
    town_no: int, township: Division, villages: list[Division], rng: random.Random
) -> list[tuple[Unit, tuple[Shift, ...]]]:
    short = _short(township.name)
    code = township.code
    out: list[tuple[Unit, tuple[Shift, ...]]] = []
    for n in range(1, 6):
        kind = UnitType.PATROL_CAR if n <= 3 else UnitType.FOOT_PATROL
        label = "巡逻车" if kind is UnitType.PATROL_CAR else "步巡组"
        shifts: tuple[Shift, ...] = (DAY_SHIFT,) if n % 2 else (NIGHT_SHIFT,)
        if n == 1:
            shifts = ROUND_THE_CLOCK  # one car always on: the township is never uncovered
        unit = make_unit(
            f"patrol-{town_no:02d}-{n}", f"{short}巡{n:02d}", kind, code, f"{short}{label}{n}号"
        )
        out.append((unit, shifts))
    out.append(
        (
            make_unit(
                f"jd-{town_no:02d}-1",
                f"{short}联防01",
                UnitType.JOINT_DEFENCE,
                code,
                f"{short}联防队",
            ),
            (NIGHT_SHIFT,),  # joint-defence teams walk the night
        )
    )
    for n in (1, 2):
        out.append(
            (
                make_unit(
                    f"med-{town_no:02d}-{n}",
                    f"{short}调解{n:02d}",
                    UnitType.MEDIATOR,
                    code,
                    f"{short}调解员{n}号",
                ),
                (DAY_SHIFT,),
            )
        )
    out.append(
        (
            make_unit(
                f"sw-{town_no:02d}-1",
                f"{short}社工01",
                UnitType.SOCIAL_WORKER,
                code,
                f"{short}综治社工",
            ),
            (DAY_SHIFT,),
        )
    )
    for village in villages:
        out.append(
            (
                make_unit(
                    f"grid-{village.code}",
                    f"网格{village.code[-6:]}",
                    UnitType.GRID_WORKER,
                    village.code,
                    f"{village.name}网格员",
                ),
                (DAY_SHIFT,),
            )
        )
    rng.shuffle(out)  # the order units are stored in says nothing about them
    return out


def _county_units(pack: CountyPack) -> list[tuple[Unit, tuple[Shift, ...]]]:
    code = pack.county.code
    plan = [
        (UnitType.FIRE_ENGINE, "fire", "消防", 3),
        (UnitType.AMBULANCE, "amb", "急救", 3),
        (UnitType.HAZMAT_TEAM, "hazmat", "危化", 1),
        (UnitType.RESCUE_TEAM, "rescue", "救援", 1),
    ]
    out: list[tuple[Unit, tuple[Shift, ...]]] = []
    for kind, prefix, radio, count in plan:
        for n in range(1, count + 1):
            unit = make_unit(
                f"{prefix}-{n}",
                f"{pack.name}{radio}{n:02d}",
                kind,
                code,
                f"{pack.name}{radio}{n}号",
            )
            out.append((unit, ROUND_THE_CLOCK))
    return out


def _route(
    town_no: int, township: Division, pack: CountyPack, villages: list[Division], rng: random.Random
) -> PatrolRoute:
    places = [
        p for p in pack.places if p.township_code == township.code and p.kind in _ROUTE_PLACES
    ]
    points = [CheckInPoint(p.code, p.name, p.lon, p.lat) for p in places]
    chosen = rng.sample(villages, min(_MAX_VILLAGE_POINTS, len(villages)))
    for village in chosen:
        centre = village.geometry.representative_point()
        points.append(
            CheckInPoint(
                f"V{village.code}", f"{village.name}村部", round(centre.x, 6), round(centre.y, 6)
            )
        )
    if not points:
        raise ValueError(f"{township.name} has no key place or village for a patrol route")
    # A walkable order: start at the first key place, always go to the nearest unvisited one.
    ordered = [points.pop(0)]
    while points:
        last = ordered[-1]
        nearest = min(points, key=lambda p: distance_m(last.lon, last.lat, p.lon, p.lat))
        points.remove(nearest)
        ordered.append(nearest)
    outline = township.geometry.convex_hull.exterior.coords
    area = tuple((round(x, 6), round(y, 6)) for x, y in outline[:-1])
    return PatrolRoute(
        f"route-{town_no:02d}", township.code, f"{township.name}治安巡逻线", tuple(ordered), area
    )


async def load_demo_units(
    conn: Conn, pack: CountyPack, *, at: datetime, seed: int = DEMO_SEED
) -> DemoFleet:
    """Create the demo fleet, rosters and patrol routes (idempotent: existing units stay)."""
    rng = random.Random(seed)
    fleet: list[tuple[Unit, tuple[Shift, ...]]] = []
    routes = []
    for town_no, township in enumerate(pack.townships, start=1):
        villages = [v for v in pack.villages if v.parent_code == township.code]
        fleet += _township_units(town_no, township, villages, rng)
        routes.append(_route(town_no, township, pack, villages, rng))
    fleet += _county_units(pack)
    async with conn.transaction():
        new = set(await insert_units(conn, [(u, UnitStatus.AVAILABLE) for u, _ in fleet], at))
        await save_rosters(conn, [Roster(u.unit_id, s) for u, s in fleet if u.unit_id in new])
        existing = {r["route_id"] for r in await conn.fetch("SELECT route_id FROM patrol_routes")}
        for route in routes:
            if route.route_id not in existing:
                await save_route(conn, route)
    return DemoFleet(len(new), sum(1 for r in routes if r.route_id not in existing))
