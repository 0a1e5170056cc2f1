"""One LISTEN connection per process that knows the log's head position.

Readers use it to answer "has the log moved?" without a database round trip (ETags, cached
answers at "now"), and live streams wait on it instead of each holding a connection. A
notification wakes it at once; a poll every `poll_interval` seconds is the backstop for a lost
one (a dropped connection). Appends made by this process advance it directly.

Waiting is lock-free (`Wakeup`), on purpose. It used to be an `asyncio.Condition` waited on
through `asyncio.wait_for`, which on Python 3.11 runs the wait in a task of its own; a live
stream whose client vanished is cancelled again and again by the server's cancel scope, so the
stream left the condition while that inner task was still re-acquiring the lock. The orphan then
took the lock and finished holding it; every later `advance` (the append handler, the LISTEN
callback) and every `wait_beyond` (the projector, the Merkle tree builder) waited on it for
ever. With nothing to hold, a waiter cancelled at any moment leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable

import asyncpg

from service import clock
from service.eventlog.store import CONNECTION_ERRORS, LOG_SIZE, NOTIFY_CHANNEL


def _time_up(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Wakeup:
    """Wakes every waiter at once; waking never waits. There is no lock and no task per wait:
    each waiter awaits a future of its own, resolved by `wake()` or by its timer, and removes
    only itself however it ends (timeout, cancellation, any number of cancellations). Removal
    is O(1), so hundreds of streams timing out or leaving at once cost no more than that."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, done: Callable[[], bool], seconds: float) -> bool:
        """Wait until `done()` holds (True) or `seconds` pass (False). `done` is checked after
        each wake-up, so whoever changes what it reads calls `wake()` afterwards."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not done():
            if loop.time() >= deadline:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            timer = loop.call_at(deadline, _time_up, waiter)
            try:
                await waiter  # a cancellation of this task cancels `waiter` and raises here
            finally:
                timer.cancel()
                self._waiters.discard(waiter)
        return True

    @property
    def waiting(self) -> int:
        """How many are waiting now (each live stream, the projector, the tree builder...)."""
        return len(self._waiters)


FOLLOW_PACE = 0.2
"""Seconds: a background follower of the log (the projector, the Merkle tree builder) starts
a step at most this often while appends keep coming (`Paced`)."""


class Paced:
    """`wait_beyond` for a follower that works in steps (the projector, the tree builder): once
    the log has moved, it returns at once if the follower's last step began `pace` seconds ago
    or more (an isolated append is followed at once), else when that much time has passed. So
    under a stream of appends each step takes in every append of the last `pace` seconds: the
    fixed cost of a step (its transaction, its queries, loading the histories it folds) is paid
    per `pace`, not per append transaction, and appends are not slowed by a follower that
    would otherwise step after each one in the same process."""

    def __init__(self, wait_beyond: Callable[[int, float], Awaitable[object]], pace: float) -> None:
        self._wait_beyond = wait_beyond
        self._pace = pace
        self._began = -math.inf

    async def wait_beyond(self, position: int, seconds: float) -> bool:
        moved = bool(await self._wait_beyond(position, seconds))
        if moved:
            rest = self._began + self._pace - clock.monotonic()
            if rest > 0:
                await asyncio.sleep(rest)
        self._began = clock.monotonic()
        return moved


class PacedWatcher(Paced):
    """A `LogWatcher` as a paced follower sees it: its head position, and `Paced.wait_beyond`."""

    def __init__(self, watcher: LogWatcher, pace: float) -> None:
        super().__init__(watcher.wait_beyond, pace)
        self._watcher = watcher

    @property
    def position(self) -> int:
        return self._watcher.position


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
        self._changed = Wakeup()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_refresh = clock.monotonic()
        self.healthy = False

    @property
    def closing(self) -> bool:
        """True once `close_streams` was called: live streams should end (the server stops)."""
        return self._closing

    def close_streams(self) -> None:
        """Wake every waiter for good: the process is shutting down."""
        self._closing = True
        self._changed.wake()

    @property
    def position(self) -> int:
        """The highest committed position this process knows of."""
        return self._position

    def overdue_for(self) -> float:
        """Seconds the watcher is late to read the log's head again (it does every poll
        interval): 0 while it works; more while the database is away, or if the watcher is
        stuck (or ended)."""
        return max(0.0, clock.monotonic() - self._last_refresh - self._poll_interval)

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
        self.advance(position)
        self._last_refresh = clock.monotonic()
        self.healthy = True
        return position

    def advance(self, position: int) -> None:
        """Learn that the log reached `position`. Never waits: an append's answer must not."""
        if position > self._position:
            self._position = position
            if self._on_advance is not None:
                self._on_advance(position)
            self._changed.wake()

    def paced(self, pace: float = FOLLOW_PACE) -> PacedWatcher:
        """This watcher as a follower that works in steps should wait on it (`Paced`)."""
        return PacedWatcher(self, pace)

    async def wait_beyond(self, position: int, seconds: float) -> bool:
        """Wait until the head passes `position` (True) or `seconds` pass (False)."""
        return await self._changed.wait_until(lambda: self._position > position, seconds)

    async def wait_in_stream(self, position: int, seconds: float) -> bool:
        """`wait_beyond` for a live stream: also returns (at once) when the process is shutting
        down, so the stream can end and the server can stop; check `closing` after it."""
        await self._changed.wait_until(lambda: self._position > position or self._closing, seconds)
        return self._position > position

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.advance(int(payload))

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
