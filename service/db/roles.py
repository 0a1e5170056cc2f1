"""The runtime role: what the service's own connections may do in the database.

The migrations run as the owner of the tables. The service's pooled connections run as a
second role that owns nothing and holds exactly the privileges below: it may read the log and
append to it, keep the read models, check and revoke tokens, keep idempotency keys and the
Merkle tree, and nothing else. So PostgreSQL itself refuses, whatever the application sends,
to UPDATE, DELETE or TRUNCATE the log, to ALTER or DROP a table (and so to DISABLE TRIGGER),
or to CREATE anything in the schema: those need the owner.

Three ways to be that role (service/db/connection.py):
- the embedded PostgreSQL (no URL): its owner creates a LOGIN role `timeline_runtime_<database>`
  at start, and the service's connections log in as it (the embedded server trusts local
  connections, so it needs no password);
- two URLs: `TIMELINE_MIGRATE_DATABASE_URL` logs in as the owner, `TIMELINE_DATABASE_URL` as a
  login role of the operator's; the owner grants that login these privileges at start;
- `TIMELINE_DATABASE_URL` alone: it logs in as the owner, which creates a NOLOGIN role
  `timeline_runtime_<database>` at start, and every connection runs as it (PostgreSQL's `role`
  setting, sent as the connection starts). That stops any statement that runs as that role;
  a session can still `SET ROLE NONE` back to its login, so against arbitrary SQL only a login
  of its own (the two ways above) holds.

Every table of the schema has an entry in `PRIVILEGES`, so a migration that adds a table
must decide what the runtime role may do with it (a test holds every table to that).
"""

from __future__ import annotations

import hashlib

import asyncpg

RUNTIME_ROLE_PREFIX = "timeline_runtime_"
_MAX_NAME = 63  # PostgreSQL's identifier length (NAMEDATALEN - 1)

# Per table: the privileges of the runtime role, as the SQL of a GRANT names them.
PRIVILEGES: dict[str, str] = {
    # the log: read and append, never change (the triggers of 0001/0002 say so to the owner too)
    "events": "SELECT, INSERT",
    "event_refs": "SELECT, INSERT",
    # tokens: `timeline tokens` makes and revokes them; only `revoked_at` ever changes
    "api_tokens": "SELECT, INSERT, UPDATE (revoked_at)",
    # read models: the projector and the rebuild rewrite them
    "rm_state": "SELECT, UPDATE",
    "rm_items": "SELECT, INSERT, UPDATE, DELETE",
    "rm_entities": "SELECT, INSERT, UPDATE, DELETE",
    "rm_quarantine": "SELECT, INSERT, UPDATE, DELETE",
    "rm_entity_names": "SELECT, INSERT, UPDATE, DELETE",
    "rm_name_keys": "SELECT, INSERT, UPDATE, DELETE",
    "rm_name_vocab": "SELECT, INSERT, UPDATE, DELETE",
    "rm_rebuild_partitions": "SELECT, INSERT, UPDATE, DELETE",
    # idempotency keys: claimed, answered, purged after their retention
    "idempotency_keys": "SELECT, INSERT, UPDATE, DELETE",
    # the Merkle tree: nodes are only added; the one state row moves forward
    "merkle_nodes": "SELECT, INSERT",
    "merkle_state": "SELECT, UPDATE",
    # which migrations ran: readable, written only by the owner
    "schema_migrations": "SELECT",
}
# Functions the runtime role may call (owned by the owner, run with its rights).
FUNCTIONS = ("rm_analyze()",)


class RuntimeRoleError(Exception):
    """The runtime role cannot be set up as configured; the message says why and what to do."""


def runtime_role_for(database: str) -> str:
    """`timeline_runtime_<database>`: roles are shared by every database of a server, so the
    name says whose it is. A name too long for PostgreSQL keeps its start and a digest."""
    name = RUNTIME_ROLE_PREFIX + database
    if len(name.encode()) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(database.encode()).hexdigest()[:12]
    head = name.encode()[: _MAX_NAME - len(digest) - 1].decode(errors="ignore")
    return f"{head}_{digest}"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_ROLE_EXISTS = "SELECT rolsuper FROM pg_roles WHERE rolname = $1"
_WHO = """
SELECT current_user, current_database(), current_schema(), rolsuper
  FROM pg_roles WHERE rolname = current_user
"""
_TABLES = """
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname
"""


async def schema_tables(conn: asyncpg.Connection) -> list[str]:
    """The tables of the current schema."""
    return [row["relname"] for row in await conn.fetch(_TABLES)]


async def grant_runtime(
    conn: asyncpg.Connection, role: str, *, create: bool, login: bool = False
) -> None:
    """As the owner (`conn`), give `role` exactly the runtime privileges; with `create`, make
    it first when it does not exist (LOGIN with `login`, else NOLOGIN) and let the owner
    `SET ROLE` to it. Safe to run again: privileges a table no longer grants the role are
    revoked first, so an update of `PRIVILEGES` takes effect at the next start."""
    owner, database, schema, owner_is_superuser = await conn.fetchrow(_WHO)
    if role == owner:
        raise RuntimeRoleError(
            f"the runtime role {role!r} is the owner of the tables; give the service a login "
            "role of its own (TIMELINE_DATABASE_URL) and the owner's URL as "
            "TIMELINE_MIGRATE_DATABASE_URL"
        )
    existing = await conn.fetchrow(_ROLE_EXISTS, role)
    if existing is not None and existing["rolsuper"]:
        raise RuntimeRoleError(
            f"the runtime role {role!r} is a superuser, which no privilege can restrict; "
            "give the service a login role without SUPERUSER"
        )
    quoted = _quote(role)
    async with conn.transaction():
        if existing is None:
            if not create:
                raise RuntimeRoleError(f"the runtime role {role!r} does not exist")
            try:
                await conn.execute(f"CREATE ROLE {quoted} {'LOGIN' if login else 'NOLOGIN'}")
            except asyncpg.InsufficientPrivilegeError as exc:
                raise RuntimeRoleError(
                    f"cannot create the runtime role {role!r}: {exc}. Give the owner CREATEROLE, "
                    "or give the service a login role of its own (TIMELINE_DATABASE_URL) and "
                    "the owner's URL as TIMELINE_MIGRATE_DATABASE_URL"
                ) from None
        elif create and login:
            await conn.execute(f"ALTER ROLE {quoted} LOGIN")
        if create and not owner_is_superuser:
            # SET ROLE needs membership; a superuser has it without.
            await conn.execute(f"GRANT {quoted} TO {_quote(owner)}")
        await conn.execute(f"GRANT CONNECT ON DATABASE {_quote(database)} TO {quoted}")
        await conn.execute(f"GRANT USAGE ON SCHEMA {_quote(schema)} TO {quoted}")
        # PostgreSQL 15 and later grant PUBLIC no CREATE on the schema; older ones did, and
        # every role (the runtime role too) inherits what PUBLIC has.
        await conn.execute(f"REVOKE CREATE ON SCHEMA {_quote(schema)} FROM PUBLIC")
        tables = await schema_tables(conn)
        for table in tables:
            await conn.execute(f"REVOKE ALL ON TABLE {_quote(table)} FROM {quoted}")
            privileges = PRIVILEGES.get(table)
            if privileges:
                await conn.execute(f"GRANT {privileges} ON TABLE {_quote(table)} TO {quoted}")
        for function in FUNCTIONS:
            await conn.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {quoted}")


async def drop_runtime_role(admin: asyncpg.Connection, database: str) -> None:
    """After `database` is dropped: drop its runtime role (roles outlive databases)."""
    await admin.execute(f"DROP ROLE IF EXISTS {_quote(runtime_role_for(database))}")
