"""Where the database comes from: the configured URL, or the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg

from service.db.embedded import embedded_postgres
from service.db.migrate import migrate
from service.settings import Settings


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
    url: str, settings: Settings, *, max_size: int | None = None, min_size: int | None = None
) -> BoundedPool:
    """A pool with every wait on the database bounded (settings.db_*_timeout); use as
    `async with bounded_pool(...) as pool`. A broken connection (the server restarted) is
    dropped on release and replaced on the next acquire, so the pool recovers by itself."""
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
    )


@contextlib.asynccontextmanager
async def open_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A migrated connection pool, closed (and the embedded server left) at the end."""
    async with database_url(settings) as url:
        async with bounded_pool(url, settings) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
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
