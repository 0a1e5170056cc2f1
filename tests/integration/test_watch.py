"""The log watcher's waiting: cancelled waiters leave nothing behind, waking never waits.

Live streams wait on the watcher; a client that vanishes gets its stream cancelled, by the
response's cancel scope, over and over until it ends. That must never leave anything held that
the append path, the projector or the tree builder then waits on for ever.
"""

from __future__ import annotations

import asyncio
import time

import anyio
import asyncpg
from hypothesis import given, settings
from hypothesis import strategies as st

from service.eventlog.watch import LogWatcher, Wakeup


@settings(max_examples=150, deadline=None)
@given(
    waiters=st.integers(min_value=1, max_value=40),
    cancels=st.lists(st.integers(min_value=0, max_value=39), max_size=120),
    yield_every=st.integers(min_value=1, max_value=4),
    early_wakes=st.integers(min_value=0, max_value=3),
)
def test_waiters_cancelled_any_number_of_times_leave_nothing_behind(
    waiters: int, cancels: list[int], yield_every: int, early_wakes: int
) -> None:
    async def scenario() -> None:
        wakeup = Wakeup()
        moved = {"yes": False}
        tasks = [
            asyncio.create_task(wakeup.wait_until(lambda: moved["yes"], 30)) for _ in range(waiters)
        ]
        await asyncio.sleep(0)
        assert wakeup.waiting == waiters
        for n, index in enumerate(cancels):
            tasks[index % waiters].cancel()  # again and again, like a cancel scope does
            if n % yield_every == 0:
                await asyncio.sleep(0)
        for _ in range(early_wakes):  # wakes while nothing moved: everyone waits again
            wakeup.wake()
            await asyncio.sleep(0)
        moved["yes"] = True
        wakeup.wake()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)

        cancelled = {index % waiters for index in cancels}
        for index, result in enumerate(results):
            if index in cancelled:
                assert isinstance(result, asyncio.CancelledError), (index, result)
            else:
                assert result is True, (index, result)
        assert wakeup.waiting == 0

        # And the next waiter is woken as before.
        moved["yes"] = False
        later = asyncio.create_task(wakeup.wait_until(lambda: moved["yes"], 30))
        await asyncio.sleep(0)
        moved["yes"] = True
        wakeup.wake()
        assert await asyncio.wait_for(later, 1) is True

    asyncio.run(scenario())


@settings(max_examples=50, deadline=None)
@given(seconds=st.floats(min_value=0.0, max_value=0.05))
def test_a_waiter_that_times_out_returns_false_and_leaves(seconds: float) -> None:
    async def scenario() -> None:
        wakeup = Wakeup()
        started = time.monotonic()
        assert await wakeup.wait_until(lambda: False, seconds) is False
        assert time.monotonic() - started >= seconds * 0.9
        assert wakeup.waiting == 0

    asyncio.run(scenario())


async def test_streams_cancelled_by_their_cancel_scopes_never_hold_up_the_watcher(
    pool: asyncpg.Pool,
) -> None:
    """What the server does to a stream whose client is gone: its anyio cancel scope cancels
    it, again on every loop iteration until it ends. With waits short enough that timeouts and
    cancellations meet, 300 such streams must leave the watcher as they found it."""
    watcher = LogWatcher(pool, poll_interval=0.2)
    await watcher.start()
    try:
        scopes: list[anyio.CancelScope] = []

        async def stream() -> None:
            with anyio.CancelScope() as scope:
                scopes.append(scope)
                while True:
                    await watcher.wait_in_stream(watcher.position, 0.01)

        streams = [asyncio.create_task(stream()) for _ in range(300)]
        await asyncio.sleep(0.3)
        for scope in scopes:
            scope.cancel()
        await asyncio.wait_for(asyncio.gather(*streams), 5)

        # An append's advance returns at once, and wakes whoever waits for it.
        follower = asyncio.create_task(watcher.wait_beyond(watcher.position, 5))
        await asyncio.sleep(0)
        watcher.advance(watcher.position + 1)
        assert await asyncio.wait_for(follower, 1) is True
        # Shutting down ends a waiting stream at once.
        waiting = asyncio.create_task(watcher.wait_in_stream(watcher.position, 30))
        await asyncio.sleep(0)
        watcher.close_streams()
        assert await asyncio.wait_for(waiting, 1) is False and watcher.closing
    finally:
        await watcher.stop()


async def test_the_watcher_says_how_long_it_has_not_read_the_log_head(
    pool: asyncpg.Pool, database_url: str
) -> None:
    watcher = LogWatcher(pool, poll_interval=0.1)
    await watcher.start()
    blocker = await asyncpg.connect(database_url)
    try:
        assert watcher.overdue_for() < 1.0
        async with blocker.transaction():
            # Its head query now waits for the lock, as it would for a frozen database.
            await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            await asyncio.sleep(1.5)
            assert watcher.overdue_for() >= 1.0
        deadline = time.monotonic() + 5
        while watcher.overdue_for() > 0:
            assert time.monotonic() < deadline, "the watcher did not read the head again"
            await asyncio.sleep(0.05)
    finally:
        await blocker.close()
        await watcher.stop()
