"""One LISTEN connection per process that knows the log's head position.

Readers use it to answer "has the log moved?" without a database round trip (ETags, cached
answers at "now"), and live streams wait on it instead of each holding a connection. A
notification wakes it at once; a poll every `poll_interval` seconds is the backstop for a lost
one (a dropped connection). Appends made by this process advance it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from service.eventlog.store import CONNECTION_ERRORS, LOG_SIZE, NOTIFY_CHANNEL


class LogWatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        poll_interval: float = 1.0,
        on_advance: Callable[[int], None] | None = None,
    ) -> None:
        self._pool = pool
        self._poll_interval = poll_interval
        self._on_advance = on_advance
        self._position = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.healthy = False

    @property
    def closing(self) -> bool:
        """True once `close_streams` was called: live streams should end (the server stops)."""
        return self._closing

    async def close_streams(self) -> None:
        """Wake every waiter for good: the process is shutting down."""
        self._closing = True
        async with self._changed:
            self._changed.notify_all()

    @property
    def position(self) -> int:
        """The highest committed position this process knows of."""
        return self._position

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="log-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> int:
        position = await self._pool.fetchval(LOG_SIZE)
        await self.advance(position)
        self.healthy = True
        return position

    async def advance(self, position: int) -> None:
        if position > self._position:
            self._position = position
            if self._on_advance is not None:
                self._on_advance(position)
            async with self._changed:
                self._changed.notify_all()

    async def wait_beyond(self, position: int, seconds: float) -> bool:
        """Wait until the head passes `position` (True) or `seconds` pass (False)."""
        return await self._wait(position, seconds, until_closing=False)

    async def wait_in_stream(self, position: int, seconds: float) -> bool:
        """`wait_beyond` for a live stream: also returns (at once) when the process is shutting
        down, so the stream can end and the server can stop; check `closing` after it."""
        return await self._wait(position, seconds, until_closing=True)

    async def _wait(self, position: int, seconds: float, *, until_closing: bool) -> bool:
        def done() -> bool:
            return self._position > position or (until_closing and self._closing)

        if done():
            return self._position > position
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(done), seconds)
            except TimeoutError:
                return False
        return self._position > position

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            position = int(payload)
            if position > self._position:
                asyncio.get_running_loop().create_task(self.advance(position))

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
                    try:
                        # A dropped LISTEN connection (the server restarted) is replaced: leave
                        # this block, which releases it, and acquire a new one.
                        while not conn.is_closed():
                            await self.refresh()
                            await asyncio.sleep(self._poll_interval)
                    finally:
                        with contextlib.suppress(*CONNECTION_ERRORS):
                            await conn.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            except asyncio.CancelledError:
                raise
            except (*CONNECTION_ERRORS, asyncpg.PostgresError):
                self.healthy = False
                await asyncio.sleep(self._poll_interval)
