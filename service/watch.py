"""One LISTEN connection per process that knows the log's head position.

Readers use it to answer "has the log moved?" without a database round trip (ETags, cached
answers at "now"), and live streams wait on it instead of each holding a connection. A
notification wakes it at once; a poll every `poll_interval` seconds is the backstop for a lost
one (a dropped connection). Appends made by this process advance it directly.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from service.store import CONNECTION_ERRORS, NOTIFY_CHANNEL

_HEAD = "SELECT coalesce(max(position), 0) FROM events"


class LogWatcher:
    def __init__(self, pool: asyncpg.Pool, *, poll_interval: float = 1.0) -> None:
        self._pool = pool
        self._poll_interval = poll_interval
        self._position = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.healthy = False

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
        position = await self._pool.fetchval(_HEAD)
        await self.advance(position)
        self.healthy = True
        return position

    async def advance(self, position: int) -> None:
        if position > self._position:
            self._position = position
            async with self._changed:
                self._changed.notify_all()

    async def wait_beyond(self, position: int, seconds: float) -> bool:
        """Wait until the head passes `position` (True) or `seconds` pass (False)."""
        if self._position > position:
            return True
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._position > position), seconds
                )
            except TimeoutError:
                return False
        return True

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
                        while True:
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
