"""Fixtures for browser tests: the real stack on its own database and stream prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
import redis

from tests.services import unique, with_database
from tests.stack import RunningStack, running_stack


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
