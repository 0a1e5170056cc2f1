"""Where the database comes from: the configured URL(s), or the embedded PostgreSQL; and as whom
the service connects (service/db/roles.py): migrations as the owner, everything else as the
runtime role."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import msgspec

from service.db.embedded import embedded_postgres
from service.db.migrate import migrate
from service.db.roles import RuntimeRoleError, runtime_role_for
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class Logins:
    """The two ways into one database: `owner_url` runs the migrations; the service's own
    connections log in with `runtime_url` and, when `set_role` is given, run as that role
    (PostgreSQL's `role` setting, sent when each connection starts)."""

    owner_url: str
    runtime_url: str
    set_role: str | None

    def server_settings(self) -> dict[str, str]:
        """What each runtime connection sends when it starts: the role it runs as. Sent at
        startup it is the session's default, so neither RESET ROLE nor RESET ALL (which the
        pool runs on every release) undoes it."""
        return {"role": self.set_role} if self.set_role else {}

    def for_workers(self, settings: Settings) -> Settings:
        """`settings` for a process started to use this database (a worker): it migrates again
        (finding nothing to do) and connects the same way as this one."""
        if self.set_role is None:
            return msgspec.structs.replace(
                settings, database_url=self.runtime_url, migrate_database_url=self.owner_url
            )
        return msgspec.structs.replace(settings, database_url=self.owner_url)

    async def connect_runtime(self) -> asyncpg.Connection:
        """One connection as the runtime role (for a command-line job)."""
        return await asyncpg.connect(self.runtime_url, server_settings=self.server_settings())


def login_as(url: str, role: str) -> str:
    """The same server and database (and options, e.g. a socket folder), as user `role`, with
    no password: for a server that trusts local connections (the embedded one)."""
    parts = urllib.parse.urlsplit(url)
    where = parts.netloc.rpartition("@")[2]
    user = urllib.parse.quote(role, safe="")
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{where}"))


async def migrated(
    settings: Settings, url: str, *, runtime_login: bool | None = None
) -> tuple[Logins, list[int]]:
    """Migrate the database as its owner and give the runtime role its privileges; return the
    logins to use and the migrations applied now (service/db/roles.py says why).

    With `migrate_database_url` set, it is the owner's and `url` is the runtime role's own
    login, which is granted the privileges. Otherwise `url` is the owner's, and the runtime
    role `timeline_runtime_<database>` is created (or updated): with `runtime_login` (the
    default for the embedded server, which trusts local connections) as a LOGIN role the
    service's connections log in as; without, as a role each connection runs as."""
    if runtime_login is None:
        runtime_login = not settings.database_url
    if settings.migrate_database_url:
        if not settings.database_url:
            raise RuntimeRoleError(
                "TIMELINE_MIGRATE_DATABASE_URL is set without TIMELINE_DATABASE_URL (the "
                "runtime role's login)"
            )
        probe = await asyncpg.connect(url, timeout=settings.db_connect_timeout)
        try:
            role = await probe.fetchval("SELECT current_user")
        finally:
            await probe.close()
        owner = await asyncpg.connect(
            settings.migrate_database_url, timeout=settings.db_connect_timeout
        )
        try:
            applied = await migrate(owner, runtime_role=role, create_role=False)
        finally:
            await owner.close()
        return Logins(settings.migrate_database_url, url, None), applied
    owner = await asyncpg.connect(url, timeout=settings.db_connect_timeout)
    try:
        role = runtime_role_for(await owner.fetchval("SELECT current_database()"))
        applied = await migrate(owner, runtime_role=role, login=runtime_login)
    finally:
        await owner.close()
    if runtime_login:
        return Logins(url, login_as(url, role), None), applied
    return Logins(url, url, role), applied


@contextlib.contextmanager
def resolved_url(settings: Settings) -> Iterator[str]:
    """Yield a URL: the configured one, or that of an embedded server started for the block."""
    if settings.database_url:
        yield settings.database_url
        return
    with embedded_postgres(settings.data_dir) as url:
        yield url


@contextlib.asynccontextmanager
async def database_url(settings: Settings) -> AsyncIterator[str]:
    """`resolved_url` for async code: pgserver blocks while it starts, so it runs in a thread."""
    stack = contextlib.ExitStack()
    url = await asyncio.to_thread(stack.enter_context, resolved_url(settings))
    try:
        yield url
    finally:
        await asyncio.to_thread(stack.close)


class BoundedPool(asyncpg.Pool):
    """A pool whose `acquire` (and so `fetch`, `execute`, ... and the release afterwards) waits
    at most `acquire_timeout` seconds unless told otherwise: asyncpg's default is to wait for
    ever, so with PostgreSQL frozen or the pool exhausted a request would hang."""

    def __init__(self, *args: object, acquire_timeout: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None):  # type: ignore[override]
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


def bounded_pool(
    url: str,
    settings: Settings,
    *,
    max_size: int | None = None,
    min_size: int | None = None,
    role: str | None = None,
) -> BoundedPool:
    """A pool with every wait on the database bounded (settings.db_*_timeout); use as
    `async with bounded_pool(...) as pool`. A broken connection (the server restarted) is
    dropped on release and replaced on the next acquire, so the pool recovers by itself.
    With `role`, every connection runs as that role (see `Logins.server_settings`)."""
    return BoundedPool(
        url,
        acquire_timeout=settings.db_acquire_timeout,
        min_size=settings.pool_min_size if min_size is None else min_size,
        max_size=max_size or settings.pool_max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=settings.db_connect_timeout,
        command_timeout=settings.db_command_timeout,
        server_settings={"role": role} if role else None,
    )


@contextlib.asynccontextmanager
async def open_pool(
    settings: Settings, *, max_size: int | None = None
) -> AsyncIterator[asyncpg.Pool]:
    """A pool of runtime connections to the migrated database, closed (and the embedded server
    left) at the end."""
    async with database_url(settings) as url:
        logins, _applied = await migrated(settings, url)
        async with bounded_pool(
            logins.runtime_url, settings, max_size=max_size, role=logins.set_role
        ) as pool:
            yield pool


@contextlib.asynccontextmanager
async def open_read_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool | None]:
    """A pool on the read replica (`read_database_url`), or None when there is none. It opens
    no connection up front (min size 0) and is never migrated: a replica that is down or not
    yet reachable must not keep the service from starting; reads then go to the primary."""
    if not settings.read_database_url:
        yield None
        return
    async with bounded_pool(settings.read_database_url, settings, min_size=0) as pool:
        yield pool
