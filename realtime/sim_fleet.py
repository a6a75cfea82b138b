"""The stored fleet as the simulator drives it, with a terminal credential issued per unit.

This is the administrator's side of a simulated shift, run by `app.py simulate` before the
simulator starts: it reads the fleet, rosters and patrol routes from the store and issues each
unit's terminal token there (as an administrator would hand out devices). The simulator itself
only ever gets the result and drives the public interfaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from geo.pack import CountyPack
from incidents.store.case_store import Conn
from incidents.store.terminal_credentials import issue_terminal
from incidents.store.unit_store import load_rosters, load_routes, unit_records
from incidents.units import UnitType
from realtime.sim_terminal import terminal_id_for
from realtime.sim_units import ALWAYS, FleetUnit, Shift, start_point

# The unit types that walk or drive a township's patrol route between tasks.
PATROLLING = frozenset({UnitType.PATROL_CAR, UnitType.FOOT_PATROL, UnitType.JOINT_DEFENCE})


async def stored_fleet(conn: Conn, pack: CountyPack) -> list[FleetUnit]:
    """Every stored unit, at its township's seat, with its roster and its township's route."""
    records = await unit_records(conn)
    rosters = await load_rosters(conn)
    routes = {route.township_code: route for route in await load_routes(conn)}
    fleet = []
    for record in records:
        unit = record.unit
        roster = rosters.get(unit.unit_id)
        shifts = tuple(Shift(s.starts, s.ends) for s in roster.shifts) if roster else (ALWAYS,)
        route = routes.get(record.township_code or "")
        points = (
            tuple((p.lon, p.lat) for p in route.points)
            if route is not None and unit.type in PATROLLING
            else ()
        )
        lon, lat = start_point(pack, unit.home_code)
        fleet.append(
            FleetUnit(unit.unit_id, unit.type.value, unit.home_code, lon, lat, shifts, points)
        )
    return fleet


async def issue_simulator_terminals(
    conn: Conn, fleet: list[FleetUnit], issued_by: str, now: datetime
) -> Mapping[str, str]:
    """A fresh terminal token per unit (replacing the last run's); unit id → token."""
    return {
        unit.unit_id: await issue_terminal(
            conn, terminal_id_for(unit.unit_id), unit.unit_id, issued_by, now
        )
        for unit in fleet
    }
