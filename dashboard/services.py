"""What the console's server code may use, handed in by the composition root (app.py).

Callbacks read through `incidents.store.guarded` with the pool, change cases through the case
and plan services, and get unit positions through a port: the dashboard holds no Redis client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.store.plan_service import PlanService
from incidents.store.service import CaseService

# unit id → (lon, lat, seen at), the latest position of every unit that reported one.
Positions = Mapping[str, tuple[float, float, datetime]]


@dataclass(frozen=True, slots=True)
class Services:
    """The store's pool, the case and plan services, and the latest unit positions."""

    pool_of: Callable[[], Awaitable[Any]]
    cases_of: Callable[[], Awaitable[CaseService]]
    plans_of: Callable[[], Awaitable[PlanService]]
    positions_of: Callable[[], Awaitable[Positions]]
    # Puts one intake/1 document on the intake stream; returns its source id (None: the page
    # has no intake channel, and the manual intake form says so).
    submit_report: Callable[[dict[str, Any]], Awaitable[str]] | None = None
