"""Fixtures: real servers, a fresh database per test, a unique stream prefix per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from incidents.store.pool import create_pool
from realtime.streams import StreamNames
from tests.services import server_urls, unique, with_database


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """Redis and PostgreSQL URLs for the whole run."""
    with server_urls() as urls:
        yield urls


@pytest.fixture(scope="session")
def template_database(servers: tuple[str, str]) -> Iterator[str]:
    """A migrated database with the demo county loaded, cloned by every test."""
    from app import migrate_and_load

    _, admin_url = servers
    name = unique("pingan_tpl_")

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await migrate_and_load(with_database(admin_url, name))

    asyncio.run(create())
    yield name
    asyncio.run(_drop(admin_url, name))


async def _drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(servers: tuple[str, str], template_database: str) -> AsyncIterator[str]:
    """A fresh database of this test's own, migrated and loaded."""
    _, admin_url = servers
    name = unique("pingan_t_")
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    finally:
        await conn.close()
    yield with_database(admin_url, name)
    await _drop(admin_url, name)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A connection pool on this test's database."""
    created = await create_pool(database_url, min_size=1, max_size=4)
    yield created
    await created.close()


@pytest.fixture
def names() -> StreamNames:
    """Stream keys under a prefix no other test uses."""
    return StreamNames(unique("t:") + ":")


@pytest.fixture
async def redis(servers: tuple[str, str], names: StreamNames) -> AsyncIterator[aioredis.Redis]:
    """A Redis client; this test's keys are deleted afterwards."""
    redis_url, _ = servers
    client = aioredis.Redis.from_url(redis_url, socket_timeout=None)
    yield client
    keys = [key async for key in client.scan_iter(match=names.prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
