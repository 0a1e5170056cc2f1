"""The log's Merkle tree in PostgreSQL, extended incrementally from the log.

`merkle_nodes(level, index, hash)` holds every perfect subtree of the tree built so far and
`merkle_state` the size it covers (see migrations/0010_merkle.sql and `events.merkle`). A
`TreeBuilder` extends both from the events after `size`, a page at a time, each page in one
transaction under a transaction-scoped advisory lock, so any number of processes may run one:
they take turns, and a process that finds the work done just learns the new size.

While it reads the log the builder also re-checks the hash chain (position, `prev_hash`, and
`hash = SHA-256(prev_hash || envelope)`): it never grows the tree, and so never lets a head be
signed, over an event that does not link. Such a fault stops the tree at the event before it
(`TreeBuilder.fault`) and is logged; the log's own triggers make it impossible without
disabling them.

Reads cost O(log n): a head, an inclusion proof or a consistency proof for any size up to the
tree's fetches the `nodes_for_*` addresses (and the state row) in one statement. The tree lags
the log by the time it takes to hash a page; every answer names the size it is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import hashlib
import logging
from collections.abc import Sequence
from typing import Protocol

import asyncpg

from events.codec import envelope_bytes
from projections.audit import merkle
from service.eventlog.store import CONNECTION_ERRORS
from service.eventlog.watch import LogWatcher, Wakeup

MERKLE_LOCK_KEY = 0x6D65_726B_6C65  # "merkle"
PAGE = 10_000
"""Events hashed per transaction when catching up."""
THREAD_THRESHOLD = 256
"""Pages at least this long are hashed in a worker thread, so the event loop keeps serving."""

log = logging.getLogger("timeline.merkle")

_LOCK = "SELECT pg_advisory_xact_lock($1)"
_STATE = "SELECT size, root, last_hash, updated_at FROM merkle_state"
_EVENTS_AFTER = (
    "SELECT position, recorded_at, schema_version, prev_hash, hash, payload FROM events "
    "WHERE position > $1 ORDER BY position LIMIT $2"
)
_NODES = """
SELECT n.level, n.index, n.hash
FROM unnest($1::smallint[], $2::bigint[]) AS w(level, index)
JOIN merkle_nodes AS n USING (level, index)
"""
# The state row and the nodes asked for, in one statement and so in one snapshot: a reader
# never mixes a size with the nodes of another.
_STATE_AND_NODES = """
SELECT s.size, s.root, s.updated_at, n.level, n.index, n.hash
FROM merkle_state AS s
LEFT JOIN (
    SELECT m.level, m.index, m.hash
    FROM unnest($1::smallint[], $2::bigint[]) AS w(level, index)
    JOIN merkle_nodes AS m USING (level, index)
) AS n ON true
"""
_UPDATE_STATE = """
UPDATE merkle_state
SET size = $1, root = $2, last_hash = $3, updated_at = greatest(clock_timestamp(), updated_at)
RETURNING updated_at
"""


class TreeFault(Exception):
    """The log does not chain at `position`: the tree stops before it."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason


class BeyondTree(LookupError):
    """A size larger than the tree built so far."""

    def __init__(self, size: int, tree_size: int) -> None:
        super().__init__(f"the tree has {tree_size} leaves; {size} asked")
        self.size = size
        self.tree_size = tree_size


@dataclasses.dataclass(frozen=True, slots=True)
class TreeHead:
    """The tree of `size` leaves. `timestamp`: when the tree reached that size, if it is the
    current one (the timestamp its signed head carries); None for an older size."""

    size: int
    root: bytes
    timestamp: _dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class InclusionProof:
    """The event at `position` (leaf `position - 1`, hash `leaf_hash`) in the tree of `size`."""

    position: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]


@dataclasses.dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of `first` leaves is a prefix of the tree of `second` leaves."""

    first: int
    second: int
    proof: list[bytes]


class Wake(Protocol):
    """What wakes the builder: `service.watch.LogWatcher` (LISTEN/NOTIFY plus polling)."""

    @property
    def position(self) -> int: ...

    async def wait_beyond(self, position: int, seconds: float) -> bool: ...


def _grow(
    tree: merkle.CompactTree, last_hash: bytes, rows: Sequence[asyncpg.Record]
) -> tuple[list[merkle.Node], bytes, TreeFault | None]:
    """Check each event links and append its leaf, up to the first that does not (returned as
    the fault). Pure CPU; mutates `tree`."""
    nodes: list[merkle.Node] = []
    sha256 = hashlib.sha256
    for position, recorded_at, schema_version, prev_hash, digest, payload in rows:
        expected = tree.size + 1
        if position != expected:
            return nodes, last_hash, TreeFault(expected, f"missing (the next one is {position})")
        prev_hash = bytes(prev_hash)
        if prev_hash != last_hash:
            return nodes, last_hash, TreeFault(position, "prev_hash is not the previous hash")
        envelope = envelope_bytes(
            payload=bytes(payload),
            position=position,
            recorded_at=recorded_at,
            schema_version=schema_version,
        )
        digest = bytes(digest)
        if sha256(prev_hash + envelope).digest() != digest:
            return nodes, last_hash, TreeFault(position, "hash does not match the content")
        nodes.extend(tree.append(merkle.leaf_hash(envelope)))
        last_hash = digest
    return nodes, last_hash, None


def _addresses(addresses: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    return [level for level, _ in addresses], [index for _, index in addresses]


class TreeBuilder:
    """Extends the stored tree from the log and answers heads and proofs from it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        page: int = PAGE,
        poll_interval: float = 1.0,
        fault_retry: float = 30.0,
    ) -> None:
        self._pool = pool
        self._page = page
        self._poll_interval = poll_interval
        self._fault_retry = fault_retry
        self._tree: merkle.CompactTree | None = None
        self._last_hash = merkle.EMPTY_ROOT
        self._size = 0
        self._grown = Wakeup()
        self._task: asyncio.Task[None] | None = None
        self._own_watcher: LogWatcher | None = None
        self.fault: TreeFault | None = None
        """Set while the log fails to chain at some position (the tree stops before it)."""

    @property
    def size(self) -> int:
        """The tree size this process last saw (the database may be ahead)."""
        return self._size

    # ---------------------------------------------------------------- building

    async def extend(self) -> int:
        """Hash every event not yet in the tree, a page per transaction. Returns the size.

        Raises TreeFault if the log does not chain; the pages before it are kept.
        """
        while True:
            added = await self._extend_page()
            if added < self._page:
                return self._size

    async def _extend_page(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK, MERKLE_LOCK_KEY)
            state = await conn.fetchrow(_STATE)
            size, root = state["size"], bytes(state["root"])
            last_hash = bytes(state["last_hash"])
            tree = self._tree
            if tree is None or tree.size != size or self._last_hash != last_hash:
                tree = await self._restore(conn, size, root)
            else:
                tree = tree.copy()
            rows = await conn.fetch(_EVENTS_AFTER, size, self._page)
            if not rows:
                await self._publish(tree, last_hash)
                return 0
            if len(rows) >= THREAD_THRESHOLD:
                nodes, last_hash, fault = await asyncio.to_thread(_grow, tree, last_hash, rows)
            else:
                nodes, last_hash, fault = _grow(tree, last_hash, rows)
            if nodes:  # keep what chains, up to the fault if any
                await conn.copy_records_to_table(
                    "merkle_nodes", records=nodes, columns=("level", "index", "hash")
                )
                await conn.fetchval(_UPDATE_STATE, tree.size, tree.root(), last_hash)
        await self._publish(tree, last_hash)
        if fault is not None:
            self.fault = fault
            raise fault
        return len(rows)

    async def _restore(
        self, conn: asyncpg.Connection, size: int, root: bytes
    ) -> merkle.CompactTree:
        addresses = merkle.perfect_subtrees(0, size)
        found = await self._fetch_nodes(conn, addresses)
        tree = merkle.CompactTree.from_nodes(size, lambda level, index: found[level, index])
        if tree.root() != root:
            raise TreeFault(size, "the stored tree does not match its recorded root")
        return tree

    async def _publish(self, tree: merkle.CompactTree, last_hash: bytes) -> None:
        self._tree, self._last_hash = tree, last_hash
        self.fault = None
        if tree.size != self._size:
            self._size = tree.size
            self._grown.wake()

    @staticmethod
    async def _fetch_nodes(
        conn: asyncpg.Connection | asyncpg.Pool, addresses: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        if not addresses:
            return {}
        rows = await conn.fetch(_NODES, *_addresses(addresses))
        found = {(r["level"], r["index"]): bytes(r["hash"]) for r in rows}
        missing = [a for a in addresses if a not in found]
        if missing:
            raise RuntimeError(f"merkle_nodes lacks {missing[:3]}: the tree table is incomplete")
        return found

    # ---------------------------------------------------------------- background

    async def start(self, wake: Wake | None = None) -> None:
        """Run the builder in the background, woken by `wake` (a LogWatcher); with none, start
        a LogWatcher of its own (LISTEN on the log's channel, plus polling)."""
        if wake is None:
            self._own_watcher = LogWatcher(self._pool, poll_interval=self._poll_interval)
            await self._own_watcher.start()
            wake = self._own_watcher
        self._task = asyncio.create_task(self.run(wake), name="merkle-tree-builder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_watcher is not None:
            await self._own_watcher.stop()
            self._own_watcher = None

    async def run(self, wake: Wake) -> None:
        """Extend the tree, then wait until the log passes it (or a poll interval); for ever."""
        while True:
            try:
                await self.extend()
            except asyncio.CancelledError:
                raise
            except TreeFault as fault:
                if self.fault is None or str(self.fault) != str(fault):
                    log.error("the log does not chain; the tree stops before it: %s", fault)
                self.fault = fault
                await asyncio.sleep(self._fault_retry)
                continue
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("the Merkle tree could not be extended: %s", exc)
                await asyncio.sleep(self._poll_interval)
                continue
            except Exception:  # pragma: no cover - unexpected: keep the service up, say it
                log.exception("the Merkle tree builder failed")
                await asyncio.sleep(self._fault_retry)
                continue
            await wake.wait_beyond(self._size, self._poll_interval)

    async def wait_for(self, size: int, seconds: float) -> bool:
        """Wait until this process has seen the tree reach `size` (True) or `seconds` pass."""
        return await self._grown.wait_until(lambda: self._size >= size, seconds)

    # ---------------------------------------------------------------- reads

    async def _state_and_nodes(
        self, addresses: Sequence[tuple[int, int]], size: int
    ) -> tuple[TreeHead, dict[tuple[int, int], bytes]]:
        """The current head, and the nodes at `addresses`; BeyondTree if `size` exceeds it."""
        rows = await self._pool.fetch(_STATE_AND_NODES, *_addresses(addresses))
        first = rows[0]
        current = TreeHead(first["size"], bytes(first["root"]), first["updated_at"])
        if size > current.size:
            raise BeyondTree(size, current.size)
        found = {(r["level"], r["index"]): bytes(r["hash"]) for r in rows if r["level"] is not None}
        missing = [a for a in addresses if a not in found]
        if missing:
            raise RuntimeError(f"merkle_nodes lacks {missing[:3]}: the tree table is incomplete")
        return current, found

    async def current(self) -> TreeHead:
        """The tree's current size, root and the time it reached that size (one row)."""
        row = await self._pool.fetchrow(_STATE)
        return TreeHead(row["size"], bytes(row["root"]), row["updated_at"])

    async def head(self, size: int | None = None) -> TreeHead:
        """The current head, or the root of the tree of `size` leaves (timestamp None unless
        `size` is the current size). BeyondTree if the tree is not that large yet."""
        if size is None:
            return await self.current()
        if size < 0:
            raise ValueError(f"size: must be >= 0, not {size}")
        current, found = await self._state_and_nodes(merkle.nodes_for_root(size), size)
        if size == current.size:
            return current
        root = merkle.root_from_nodes(size, lambda level, index: found[level, index])
        return TreeHead(size, root, None)

    async def inclusion(self, position: int, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the event at `position` in the tree of `size` leaves (the
        current tree if None). ValueError unless 1 <= position <= size; BeyondTree if the tree
        is smaller than `size` (or, with no size, than `position`)."""
        if size is None:
            size = (await self.current()).size
            if position > size:
                raise BeyondTree(position, size)
        if not 1 <= position <= size:
            raise ValueError(f"position: must be between 1 and the size {size}, not {position}")
        index = position - 1
        addresses = [(0, index), *merkle.nodes_for_inclusion(index, size)]
        _, found = await self._state_and_nodes(addresses, size)
        proof = merkle.inclusion_proof_from_nodes(index, size, lambda level, i: found[level, i])
        return InclusionProof(position, size, found[0, index], proof)

    async def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """The consistency proof from the tree of `first` leaves to that of `second` (the
        current tree if None). ValueError unless 0 <= first <= second; BeyondTree if the tree
        is smaller than `second` (or, with no second, than `first`)."""
        if second is None:
            second = (await self.current()).size
            if first > second:
                raise BeyondTree(first, second)
        if not 0 <= first <= second:
            raise ValueError(f"from: must be between 0 and {second}, not {first}")
        _, found = await self._state_and_nodes(merkle.nodes_for_consistency(first, second), second)
        proof = merkle.consistency_proof_from_nodes(
            first, second, lambda level, index: found[level, index]
        )
        return ConsistencyProof(first, second, proof)
