"""The runtime role: PostgreSQL itself refuses the service's connections anything that would
rewrite history or the schema, while everything the service does still works."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from service.access import tokens
from service.audit.tree import TreeBuilder
from service.db.connection import bounded_pool, migrated, open_pool
from service.db.roles import PRIVILEGES, RuntimeRoleError, runtime_role_for, schema_tables
from service.eventlog.idempotency import RETENTION
from service.eventlog.store import EventStore
from service.readmodels import sql as readmodel_sql
from service.readmodels.projector import Projector
from service.settings import Settings
from tests.conftest import with_database
from tests.support.builders import listed, registered

# Each is refused with "permission denied" / "must be owner" (SQLSTATE 42501) to the runtime
# role; none of them may change the log.
REFUSED = {
    "update the log": "UPDATE events SET entity = 'forged'",
    "delete from the log": "DELETE FROM events",
    "truncate the log": "TRUNCATE events",
    "update event refs": "UPDATE event_refs SET ref = 'forged'",
    "delete event refs": "DELETE FROM event_refs",
    "disable the append-only trigger": "ALTER TABLE events DISABLE TRIGGER events_append_only",
    "disable every trigger": "ALTER TABLE events DISABLE TRIGGER ALL",
    "drop the append-only trigger": "DROP TRIGGER events_append_only ON events",
    "alter a column": "ALTER TABLE events ALTER COLUMN entity DROP NOT NULL",
    "drop the log": "DROP TABLE events",
    "drop a read model": "DROP TABLE rm_items",
    "replace a trigger function": (
        "CREATE OR REPLACE FUNCTION events_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$"
    ),
    "create a table": "CREATE TABLE forged (x int)",
    "create a function": "CREATE FUNCTION forged() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "skip triggers by replication role": "SET session_replication_role = replica",
    "change a Merkle node": "UPDATE merkle_nodes SET hash = hash",
    "forge a token's secret": "UPDATE api_tokens SET secret_hash = secret_hash",
    "rewrite migrations": "DELETE FROM schema_migrations",
    "truncate the Merkle tree": "TRUNCATE merkle_nodes",
}


def database_of(url: str) -> str:
    """The database a URL names (its path; a socket folder in the query string is not it)."""
    return urllib.parse.urlsplit(url).path.lstrip("/")


def with_user(url: str, user: str) -> str:
    """The same URL logging in as `user` (no password: the test servers trust local logins)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def _head(pool: asyncpg.Pool) -> tuple[int, bytes | None]:
    row = await pool.fetchrow(
        "SELECT count(*) AS n, (SELECT hash FROM events ORDER BY position DESC LIMIT 1) AS h "
        "FROM events"
    )
    return row["n"], row["h"]


@pytest.fixture
async def runtime_login(pg_admin_url: str, database_url: str) -> AsyncIterator[str]:
    """A login role of the operator's own for the two-URL wiring (unique, dropped after)."""
    name = f"timeline_login_{uuid.uuid4().hex[:12]}"
    database = database_of(database_url)
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        # Its privileges are in the test's database: that goes first, then the role can.
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        await admin.close()


async def test_the_pool_runs_as_the_runtime_role_even_after_reset(
    database_url: str, pool: asyncpg.Pool
) -> None:
    database = database_of(database_url)
    for _ in range(3):  # each release runs RESET ALL; the role is the session's default
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_user") == runtime_role_for(database)
            await conn.execute("RESET ROLE")
            assert await conn.fetchval("SELECT current_user") == runtime_role_for(database)
            assert not await conn.fetchval(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            )


@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
async def test_the_runtime_role_is_refused(pool: asyncpg.Pool, statement: str) -> None:
    store = EventStore(pool)
    await store.append([registered("us-entity-list", "list"), registered("ymtc")])
    await store.append([listed("ymtc", "2022-12-16")])
    await tokens.create_token(pool, scope="write", name="x")
    await TreeBuilder(pool).extend()
    before = await _head(pool)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute(statement)
    assert await _head(pool) == before


async def test_appends_reads_projector_tokens_idempotency_and_merkle_work_as_the_runtime_role(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    await store.append([registered("us-entity-list", "list"), registered("ymtc")])
    await store.append([listed("ymtc", "2022-12-16")])
    assert [r.position for r in await store.read_after(0, 10)] == [1, 2, 3]

    assert await Projector(pool).catch_up() == 3
    await pool.execute(readmodel_sql.ANALYZE)  # what the projector runs as the model grows

    token = await tokens.create_token(pool, scope="write", name="runtime")
    assert await tokens.TokenChecker(pool).scope_of(token) == "write"
    assert await tokens.revoke_token(pool, token.split("_")[1])

    await pool.execute(
        "INSERT INTO idempotency_keys (token_id, key, fingerprint) VALUES ('t', 'k', $1)",
        bytes(32),
    )
    await pool.execute("UPDATE idempotency_keys SET status = 201, response = '' WHERE key = 'k'")
    await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval", RETENTION
    )

    assert await TreeBuilder(pool).extend() == 3


async def test_every_table_has_a_decision_about_the_runtime_role(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        tables = await schema_tables(conn)
    assert set(tables) == set(PRIVILEGES), "a new table needs an entry in roles.PRIVILEGES"


async def test_two_urls_grant_the_operators_login_and_never_set_a_role(
    pg_admin_url: str, database_url: str, runtime_login: str
) -> None:
    runtime_url = with_user(database_url, runtime_login)
    settings = Settings(database_url=runtime_url, migrate_database_url=database_url)
    logins, _ = await migrated(settings, runtime_url)
    assert logins.set_role is None and logins.runtime_url == runtime_url
    async with open_pool(settings) as pool:
        assert await pool.fetchval("SELECT session_user") == runtime_login
        await EventStore(pool).append([registered("ymtc")])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute("ALTER TABLE events DISABLE TRIGGER ALL")
        await pool.execute("SET ROLE NONE")  # a login of its own: nothing else to go back to
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute("DELETE FROM events")


async def test_a_trusted_server_gives_the_runtime_role_a_login_of_its_own(
    database_url: str,
) -> None:
    # The embedded server's wiring (it trusts local connections), on this server, which does.
    settings = Settings(database_url=database_url)
    logins, _ = await migrated(settings, database_url, runtime_login=True)
    assert logins.set_role is None
    async with bounded_pool(logins.runtime_url, settings) as pool:
        role = runtime_role_for(database_of(database_url))
        assert await pool.fetchval("SELECT session_user") == role
        await pool.execute("SET ROLE NONE")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")


async def test_the_owner_as_runtime_role_is_refused(database_url: str) -> None:
    settings = Settings(database_url=database_url, migrate_database_url=database_url)
    with pytest.raises(RuntimeRoleError, match="owner"):
        await migrated(settings, database_url)


async def test_an_owner_who_cannot_create_roles_stops_the_service_with_one_clear_line(
    pg_admin_url: str,
) -> None:
    suffix = uuid.uuid4().hex[:12]
    owner, database = f"timeline_owner_{suffix}", f"timeline_o_{suffix}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE ROLE "{owner}" LOGIN NOCREATEROLE')
    await admin.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')
    url = with_user(with_database(pg_admin_url, database), owner)
    try:
        with pytest.raises(RuntimeRoleError, match="CREATEROLE"):
            await migrated(Settings(database_url=url), url)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "service.cli", "tokens", "list"],
            env={"PATH": os.environ["PATH"], "TIMELINE_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        (line,) = lines
        assert line.startswith("timeline tokens: cannot create the runtime role")
        assert "TIMELINE_MIGRATE_DATABASE_URL" in line
        assert (
            await admin.fetchval(
                "SELECT count(*) FROM pg_roles WHERE rolname = $1", runtime_role_for(database)
            )
            == 0
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{owner}"')
        await admin.close()
