"""Where a read runs: the primary, or a read replica for answers that can never change.

An answer at a past `known_at` K (one at or before the last committed `recorded_at`) is
immutable: it depends only on the events recorded at or before K. A replica may serve it once
it holds all of them. Append transactions commit in position order with strictly increasing
`recorded_at`, and a replica replays them in that order, whole; so a replica whose last event
was recorded at or after K holds every event recorded at or before K. Read models are
written by the primary's projector and replicated with the rest; a replica may answer from them
once its `rm_state.position` has reached the answer's log position.

Everything else goes to the primary: answers at "now" (a replica that is behind would serve an
old "now"), a replica that is behind K, and any read while the replica is unreachable (it is
tried again after `RETRY_SECONDS`).

How far "the replica" is, is known per connection, not per URL: behind one read URL there may
be several standbys, each as far as it is (a load-balanced `-ro` service), and the server a URL
reaches may change (a standby restarts, its pod moves). So what the router last saw of the
replica only says whether asking it is worth a try; every connection an answer reads through
is checked, on that connection, to hold what the answer needs (`ReplicaHolding`), and one that
does not is swapped for a connection to the primary.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from service import clock
from service.eventlog.store import CONNECTION_ERRORS, EventStore
from service.readmodels import queries as readmodel

RETRY_SECONDS = 5.0
KNOWN_POSITIONS = 10_000


@dataclass(frozen=True, slots=True)
class ReadSource:
    name: str
    """"primary" or "replica"."""
    store: EventStore
    pool: asyncpg.Pool


class ReplicaHolding:
    """The replica as a pool, for the reads of one answer: every connection it hands out is on
    a server that holds what the answer needs (`holds`, checked on that very connection), else
    it is one of the primary's. Reads through it take one more round trip each (the check);
    they are the immutable answers, which the answer cache and any CDN keep."""

    def __init__(
        self, router: ReadRouter, holds: Callable[[asyncpg.Connection], Awaitable[bool]]
    ) -> None:
        self._router = router
        self._holds = holds

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        replica = self._router.replica
        assert replica is not None
        conn = await self._holding_connection(replica) if self._router.reachable() else None
        if conn is None:
            async with self._router.primary.pool.acquire() as conn:
                yield conn
            return
        try:
            yield conn
        finally:
            await replica.pool.release(conn)

    async def _holding_connection(self, replica: ReadSource) -> asyncpg.Connection | None:
        """A connection of the replica's that holds what is needed, or None (given back)."""
        try:
            conn = await replica.pool.acquire()
        except CONNECTION_ERRORS:
            self._router.failed(replica)
            return None
        try:
            if await self._holds(conn):
                return conn
        except (*CONNECTION_ERRORS, asyncpg.PostgresError):
            self._router.failed(replica)
        await replica.pool.release(conn)
        return None

    async def fetch(self, query: str, *args: object, **options: object) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args, **options)

    async def fetchrow(self, query: str, *args: object, **options: object) -> asyncpg.Record:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args, **options)

    async def fetchval(self, query: str, *args: object, **options: object) -> object:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args, **options)


def _holding_events_to(known_at: _dt.datetime) -> Callable[[asyncpg.Connection], Awaitable[bool]]:
    """Whether a connection's server holds every event recorded at or before `known_at`."""

    async def holds(conn: asyncpg.Connection) -> bool:
        head = await EventStore(conn).head()
        return head.recorded_at is not None and head.recorded_at >= known_at

    return holds


def _holding_models_to(position: int) -> Callable[[asyncpg.Connection], Awaitable[bool]]:
    """Whether a connection's server has read models that include log position `position`."""

    async def holds(conn: asyncpg.Connection) -> bool:
        return await readmodel.checkpoint(conn) >= position

    return holds


class ReadRouter:
    def __init__(self, primary: asyncpg.Pool, replica: asyncpg.Pool | None) -> None:
        self.primary = ReadSource("primary", EventStore(primary), primary)
        self.replica = (
            ReadSource("replica", EventStore(replica), replica) if replica is not None else None
        )
        self._replayed_to: _dt.datetime | None = None
        """`recorded_at` of the last event the replica was seen to hold."""
        self._projected_to = 0
        """The replica's read-model position, as last seen."""
        self._down_until = 0.0
        self._positions: OrderedDict[_dt.datetime, int] = OrderedDict()

    async def at(self, known_at: _dt.datetime) -> tuple[ReadSource, int, bool]:
        """Where to read the log for an answer at `known_at`, the log size it saw, and whether
        that answer is immutable (`known_at` at or before the last committed event, so the size
        is the last position recorded at or before it). A `known_at` after every committed
        event is answered like "now": from the primary, at its head, not immutable.

        The size at a past moment never changes, so it is remembered (a bounded number of
        them): a repeated past `known_at` costs no round trip at all."""
        source = await self._covering(known_at)
        position = self._positions.get(known_at)
        if position is not None:
            self._positions.move_to_end(known_at)
            return source or self.primary, position, True
        if source is None:
            head = await self.primary.store.head()
            if head.recorded_at is None or known_at > head.recorded_at:
                return self.primary, head.position, False
            source = self.primary
        position = await source.store.position_known_at(known_at)
        self._positions[known_at] = position
        while len(self._positions) > KNOWN_POSITIONS:
            self._positions.popitem(last=False)
        return source, position, True

    async def _covering(self, known_at: _dt.datetime) -> ReadSource | None:
        """The replica, for reads at `known_at`, if it was seen to hold every event recorded at
        or before it (each connection is checked again: `ReplicaHolding`)."""
        if self.replica is None:
            return None
        if (self._replayed_to is not None and self._replayed_to >= known_at) or (
            await self._look() and self._replayed_to is not None and self._replayed_to >= known_at
        ):
            return self._holding(_holding_events_to(known_at))
        return None

    def _holding(self, holds: Callable[[asyncpg.Connection], Awaitable[bool]]) -> ReadSource:
        view = ReplicaHolding(self, holds)
        return ReadSource("replica", EventStore(view), view)  # type: ignore[arg-type]

    async def for_models(self, source: ReadSource, position: int) -> ReadSource:
        """Where to read the read models for an answer whose log is read from `source` at log
        size `position`: the replica only once its read models include that position."""
        if source.name != "replica" or self.replica is None:
            return self.primary
        if self._projected_to >= position or (
            await self._look() and self._projected_to >= position
        ):
            # A connection that falls back to the primary finds its read models there: a
            # standby's are a copy of the primary's, which had them first.
            return self._holding(_holding_models_to(position))
        return self.primary

    def failed(self, source: ReadSource) -> None:
        """A read on `source` lost its connection: if it was the replica, leave it alone for a
        while."""
        if source.name == "replica":
            self._down_until = clock.monotonic() + RETRY_SECONDS

    def reachable(self) -> bool:
        """False for a while after the replica failed."""
        return clock.monotonic() >= self._down_until

    async def _look(self) -> bool:
        """Refresh how far the replica is; False if it cannot be reached (then, for a while,
        nothing is asked of it)."""
        assert self.replica is not None
        if not self.reachable():
            return False
        try:
            head = await self.replica.store.head()
            projected = await readmodel.checkpoint(self.replica.pool)
        except (*CONNECTION_ERRORS, asyncpg.PostgresError):
            self._down_until = clock.monotonic() + RETRY_SECONDS
            return False
        if head.recorded_at is not None:
            self._replayed_to = head.recorded_at
        self._projected_to = projected
        return True
