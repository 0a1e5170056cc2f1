"""Where the database comes from: the configured URL, or the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg

from service.embedded import embedded_postgres
from service.migrate import migrate
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


@contextlib.asynccontextmanager
async def open_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A migrated connection pool, closed (and the embedded server left) at the end."""
    async with database_url(settings) as url:
        async with asyncpg.create_pool(
            url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        ) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            yield pool
