"""Test harness: a real PostgreSQL, and a fresh database per test.

Where the server comes from, in order:
1. `TIMELINE_TEST_DATABASE_URL` (a URL to an admin database, e.g. `postgresql://postgres@127.0.0.1:5432/postgres`);
2. a testcontainers PostgreSQL, when a Docker engine answers;
3. the embedded PostgreSQL of the `pgserver` package, in a temporary folder.

The schema is migrated once into a template database; each test gets `CREATE DATABASE ...
TEMPLATE ...` (a file copy: tens of milliseconds), so tests are independent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from service.access import tokens
from service.db.connection import open_pool
from service.db.migrate import migrate
from service.db.roles import drop_runtime_role
from service.eventlog.store import EventStore
from service.http.app import create_app
from service.settings import Settings
from tests.support.apitools import registration


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at database `name` (query string, e.g. a socket, kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


@contextlib.contextmanager
def _testcontainers_postgres() -> Iterator[str | None]:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError:
            yield None
            return
    try:
        container = PostgresContainer("postgres:16-alpine", driver=None)
        container.start()
    except Exception as exc:  # docker.errors.DockerException and friends: no engine here
        print(
            f"testcontainers unavailable ({type(exc).__name__}); using embedded PostgreSQL",
            file=sys.stderr,
        )
        yield None
        return
    try:
        yield container.get_connection_url()
    finally:
        container.stop()


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TIMELINE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with _testcontainers_postgres() as container_url:
        if container_url:
            yield container_url
            return
    from service.db.embedded import embedded_postgres

    with embedded_postgres(tmp_path_factory.mktemp("embedded-pg")) as embedded_url:
        yield embedded_url


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    """Drop a test database and the runtime role the service made for it (roles are shared by
    the whole server, and outlive the database)."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await drop_runtime_role(conn, name)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(pg_admin_url: str) -> Iterator[str]:
    name = f"timeline_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_admin_url, f'CREATE DATABASE "{name}"'))

    async def _migrate() -> None:
        conn = await asyncpg.connect(with_database(pg_admin_url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(_migrate())
    try:
        yield name
    finally:
        asyncio.run(drop_database(pg_admin_url, name))


@contextlib.asynccontextmanager
async def fresh_database(
    pg_admin_url: str, template_database: str, prefix: str = "timeline_t"
) -> AsyncIterator[str]:
    """A new database copied from the migrated template, dropped at the end; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(pg_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    try:
        yield with_database(pg_admin_url, name)
    finally:
        await drop_database(pg_admin_url, name)


@pytest.fixture
async def database_url(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated, empty database for this test."""
    async with fresh_database(pg_admin_url, template_database) as url:
        yield url


def runtime_pool(url: str, *, max_size: int = 10) -> contextlib.AbstractAsyncContextManager:
    """A pool whose connections are made as the service makes them, as the runtime role
    (service/db/roles.py), but with the waits of a test on a busy machine, not a service's."""
    settings = Settings(
        database_url=url, db_connect_timeout=60, db_acquire_timeout=120, db_command_timeout=300
    )
    return open_pool(settings, max_size=max_size)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with runtime_pool(database_url) as pool:
        yield pool


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


# --- API fixtures: a test client on a fresh database, a write token, a client that uses it.


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:
    app = create_app(
        Settings(database_url=database_url, data_dir=tmp_path, sse_heartbeat_seconds=0.5)
    )
    async with AsyncTestClient(app) as client:
        yield client


@pytest.fixture
async def token(pool: asyncpg.Pool) -> str:
    return await tokens.create_token(pool, scope="write", name="tests")


@pytest.fixture
async def writer(client: AsyncTestClient, token: str) -> AsyncTestClient:
    client.headers["Authorization"] = f"Bearer {token}"
    response = await client.post(
        "/v1/events",
        json=[registration("us-entity-list", "list"), registration("ymtc"), registration("huawei")],
    )
    assert response.status_code == 201, response.text
    return client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that reaches PostgreSQL `db`, so CI can rerun just those elsewhere."""
    for item in items:
        if "pg_admin_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
