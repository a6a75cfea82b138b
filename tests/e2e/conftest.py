"""Fixtures for browser tests: the real stack on its own database and stream prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import asyncpg
import pytest
import redis

from app import load_demo_forces
from tests.services import unique, with_database
from tests.stack import RunningStack, running_stack


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _load_fleet(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await load_demo_forces(conn)
    finally:
        await conn.close()


@contextmanager
def fresh_stack(
    servers: tuple[str, str],
    template_database: str,
    *,
    fleet: bool = False,
    processes: Sequence[str] = ("worker", "gateway", "serve"),
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningStack]:
    """The stack on a fresh copy of the template database and its own stream prefix, with
    the demo fleet if asked; the database and the prefix's keys are removed afterwards."""
    redis_url, admin_url = servers
    name = unique("pingan_e2e_")
    prefix = unique("e2e:") + ":"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    database_url = with_database(admin_url, name)
    try:
        if fleet:
            asyncio.run(_load_fleet(database_url))
        with running_stack(
            redis_url, database_url, prefix, processes, extra_env=extra_env
        ) as stack:
            yield stack
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def stack(servers: tuple[str, str], template_database: str) -> Iterator[RunningStack]:
    """worker + gateway + dashboard processes on a fresh database."""
    with fresh_stack(servers, template_database) as s:
        yield s


@pytest.fixture
def wall_stack(servers: tuple[str, str], template_database: str) -> Iterator[RunningStack]:
    """The stack with the demo fleet and KPIs pushed every 2 s (the wall's tests)."""
    env = {"PINGAN_KPI_SECONDS": "2"}
    with fresh_stack(servers, template_database, fleet=True, extra_env=env) as s:
        yield s


@pytest.fixture
def shift_stack(servers: tuple[str, str], template_database: str) -> Iterator[RunningStack]:
    """The stack with the terminal inbox on, on a fresh database holding the demo fleet."""
    processes = ("worker --terminal-inbox", "gateway", "serve")
    with fresh_stack(servers, template_database, fleet=True, processes=processes) as s:
        yield s
