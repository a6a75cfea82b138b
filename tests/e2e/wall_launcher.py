"""`app.py` with the wall wired in, for the wall's browser tests until the lead wires it.

Runs `python tests/e2e/wall_launcher.py serve|worker|gateway`: the same commands, with the
wall's routes added to the dashboard's server and the KPI job beside the worker's other
timed jobs, exactly as the report asks app.py to do (PINGAN_KPI_SECONDS sets the interval).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import app
import dashboard.app
import realtime.forces_jobs
from dashboard.wall_page import add_wall_routes
from realtime.kpi_job import event_publisher, run_kpi_job
from realtime.settings import Settings

_create_app = dashboard.app.create_app
_run_forces_jobs = realtime.forces_jobs.run_forces_jobs


def _create_app_with_wall(layers: Any, config: Any, services: Any = None) -> Any:
    dash_app = _create_app(layers, config, services)
    settings = Settings.from_env()
    redis = app._redis(settings.redis_url or "")
    add_wall_routes(
        dash_app.server,
        services.pool_of,
        layers.townships,
        layers.boundary,
        config.county_name,
        config.ws_port,
        config.protocol,
        event_publisher(redis, app._names(settings)),
    )
    return dash_app


async def _forces_and_kpis(pool: Any, service: Any, stop: asyncio.Event, clock: Any) -> None:
    settings = Settings.from_env()
    redis = app._redis(settings.redis_url or "")
    every = float(os.environ.get("PINGAN_KPI_SECONDS", "30"))
    await asyncio.gather(
        _run_forces_jobs(pool, service, stop, clock),
        run_kpi_job(redis, pool, app._names(settings), stop, clock, every_seconds=every),
    )


dashboard.app.create_app = _create_app_with_wall  # type: ignore[assignment]
realtime.forces_jobs.run_forces_jobs = _forces_and_kpis  # type: ignore[assignment]

if __name__ == "__main__":
    app.main()
