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
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from service import clock
from service.eventlog.store import CONNECTION_ERRORS, EventStore
from service.readmodels import queries as readmodel

RETRY_SECONDS = 5.0
KNOWN_POSITIONS = 10_000
KNOWN_CONNECTIONS = 64
"""How many replica connections' progress is remembered: the pool holds at most
`pool_max_size` (10) at a time; the rest are ones it has since replaced."""


@dataclass(frozen=True, slots=True)
class ReadSource:
    name: str
    """"primary" or "replica"."""
    store: EventStore
    pool: asyncpg.Pool


@dataclass(frozen=True, slots=True)
class Need:
    """What an answer needs of the server it reads from: every event recorded at or before
    `known_at` (None: nothing of the log), and read models that include log position
    `position` (0: none)."""

    known_at: _dt.datetime | None = None
    position: int = 0


@dataclass(slots=True)
class _Seen:
    """What one connection's server was seen to hold. A server only moves forward (a standby
    replays in order, a promoted one appends), so what it held it still holds."""

    replayed_to: _dt.datetime | None = None
    projected_to: int = 0

    def holds(self, need: Need) -> bool:
        events = need.known_at is None or (
            self.replayed_to is not None and self.replayed_to >= need.known_at
        )
        return events and self.projected_to >= need.position


class ReplicaHolding:
    """The replica as a pool, for the reads of one answer: every connection it hands out is on
    a server that holds what the answer needs (`need`, checked on that very connection), else
    it is one of the primary's. A connection is asked only when what it was last seen to hold
    does not suffice: one round trip, and then not again for that need."""

    def __init__(self, router: ReadRouter, need: Need) -> None:
        self._router = router
        self._need = need

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
            if await self._router.holds(conn, self._need):
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
        self._seen: OrderedDict[object, _Seen] = OrderedDict()
        """By connection: what its server was seen to hold. The key is the connection's
        `get_settings()` object, one per connection for its whole life (kept here, so its
        identity is not reused while it is a key)."""

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
            return self._holding(Need(known_at=known_at))
        return None

    def _holding(self, need: Need) -> ReadSource:
        view = ReplicaHolding(self, need)
        return ReadSource("replica", EventStore(view), view)  # type: ignore[arg-type]

    async def holds(self, conn: asyncpg.Connection, need: Need) -> bool:
        """Whether the server `conn` is on holds `need`, asking it only if what it was last
        seen to hold does not suffice."""
        key = conn.get_settings()
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = _Seen()
            while len(self._seen) > KNOWN_CONNECTIONS:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        if seen.holds(need):
            return True
        if need.known_at is not None:
            seen.replayed_to = (await EventStore(conn).head()).recorded_at
        if need.position:
            seen.projected_to = await readmodel.checkpoint(conn)
        return seen.holds(need)

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
            return self._holding(Need(position=position))
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
