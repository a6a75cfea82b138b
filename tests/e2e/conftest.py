"""Fixtures for browser tests: the real stack on its own database and stream prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
import redis

from geo.pack import load_demo_pack
from incidents.store.demo_fleet import load_demo_units
from tests.services import unique, with_database
from tests.stack import RunningStack, running_stack


# The wall's routes and KPI job wired into app.py's commands (until app.py wires them itself).
async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def stack(servers: tuple[str, str], template_database: str) -> Iterator[RunningStack]:
    """worker + gateway + dashboard processes on a fresh database."""
    redis_url, admin_url = servers
    name = unique("pingan_e2e_")
    prefix = unique("e2e:") + ":"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    try:
        with running_stack(redis_url, with_database(admin_url, name), prefix) as s:
            yield s
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


async def _load_fleet(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await load_demo_units(conn, load_demo_pack(), at=datetime.now(UTC))
    finally:
        await conn.close()


@pytest.fixture
def wall_stack(servers: tuple[str, str], template_database: str) -> Iterator[RunningStack]:
    """worker + gateway + dashboard with the wall wired in, KPIs pushed every 2 s, a fleet."""
    redis_url, admin_url = servers
    name = unique("pingan_wall_")
    prefix = unique("e2e:") + ":"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    database_url = with_database(admin_url, name)
    asyncio.run(_load_fleet(database_url))
    try:
        with running_stack(
            redis_url,
            database_url,
            prefix,
            extra_env={"PINGAN_KPI_SECONDS": "2"},
        ) as s:
            yield s
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def shift_stack(servers: tuple[str, str], template_database: str) -> Iterator[RunningStack]:
    """The stack with the terminal inbox on, on a fresh database holding the demo fleet."""
    redis_url, admin_url = servers
    name = unique("pingan_shift_")
    prefix = unique("shift:") + ":"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    database_url = with_database(admin_url, name)

    asyncio.run(_load_fleet(database_url))
    try:
        processes = ("worker --terminal-inbox", "gateway", "serve")
        with running_stack(redis_url, database_url, prefix, processes) as stack:
            yield stack
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
