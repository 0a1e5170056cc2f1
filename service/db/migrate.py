"""Versioned SQL migrations, applied at start.

Files `service/db/migrations/NNNN_name.sql` are applied in order, each in its own transaction,
and recorded in `schema_migrations`. A session-level advisory lock makes concurrent starts
safe: the second process waits, then finds the work done.
"""

from __future__ import annotations

import re
from importlib import resources

import asyncpg

from service.db.roles import grant_runtime

MIGRATION_LOCK_KEY = 0x7469_6D65_6C69_6E  # "timelin": one constant for every process

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
_LOCK = "SELECT pg_advisory_lock($1)"
_UNLOCK = "SELECT pg_advisory_unlock($1)"
_APPLIED = "SELECT version FROM schema_migrations"
_RECORD = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("service.db.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort()
    return found


async def migrate(
    conn: asyncpg.Connection,
    *,
    runtime_role: str | None = None,
    create_role: bool = True,
    login: bool = False,
) -> list[int]:
    """Apply what is missing; return the versions applied now. With `runtime_role`, then give
    that role the runtime privileges (service/db/roles.py; `create_role`: make it if missing,
    a LOGIN role with `login`),
    under the same lock, so processes starting together do not race to create it."""
    await conn.execute(_LOCK, MIGRATION_LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        applied = {row["version"] for row in await conn.fetch(_APPLIED)}
        done = []
        for version, name, sql in available():
            if version in applied:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(_RECORD, version, name)
            done.append(version)
        if runtime_role is not None:
            await grant_runtime(conn, runtime_role, create=create_role, login=login)
        return done
    finally:
        await conn.execute(_UNLOCK, MIGRATION_LOCK_KEY)
