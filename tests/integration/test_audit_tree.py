"""The stored Merkle tree (service/merkle_store.py) against the pure reference, on PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from events import RecordedEvent
from projections.audit import merkle
from service.audit.tree import BeyondTree, TreeBuilder, TreeFault
from service.eventlog.store import EventStore
from tests.support.builders import listed, registered


async def grow(store: EventStore, batches: list[int]) -> list[RecordedEvent]:
    """Register a list and a company (first call), then append listings in these batch sizes."""
    if (await store.head()).position == 0:
        await store.append([registered("us-entity-list", "list"), registered("ymtc")])
    for size in batches:
        await store.append([listed("ymtc", f"2022-{1 + i % 12:02d}") for i in range(size)])
    return await store.read_after(0, 100_000)


def leaves(log: list[RecordedEvent]) -> list[bytes]:
    return [merkle.leaf_of(r) for r in log]


async def stored_nodes(pool: asyncpg.Pool) -> dict[tuple[int, int], bytes]:
    rows = await pool.fetch("SELECT level, index, hash FROM merkle_nodes")
    return {(r["level"], r["index"]): bytes(r["hash"]) for r in rows}


async def test_empty_tree(pool: asyncpg.Pool) -> None:
    tree = TreeBuilder(pool)
    assert await tree.extend() == 0
    head = await tree.head()
    assert (head.size, head.root) == (0, merkle.EMPTY_ROOT)
    assert head.timestamp is not None
    assert (await tree.consistency(0, 0)).proof == []


async def test_root_equals_reference_as_the_log_grows(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    tree = TreeBuilder(pool)
    for batches in ([1], [2], [5, 1], [9], [17, 3]):
        log = await grow(store, batches)
        assert await tree.extend() == len(log)
        head = await tree.head()
        assert head.size == len(log)
        assert head.root == merkle.root(leaves(log))
    # The table holds exactly the perfect subtrees of the final tree, and nothing else.
    expected = merkle.CompactTree()
    nodes = {(n.level, n.index): n.hash for n in expected.extend(leaves(log))}
    assert await stored_nodes(pool) == nodes


async def test_small_pages_and_a_fresh_builder_resume_from_the_table(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    log = await grow(store, [11])
    assert await TreeBuilder(pool, page=4).extend() == len(log)
    log = await grow(store, [6, 7])
    fresh = TreeBuilder(pool, page=3)  # restores its frontier from merkle_nodes
    assert await fresh.extend() == len(log)
    assert (await fresh.head()).root == merkle.root(leaves(log))


async def test_concurrent_builders_agree(store: EventStore, database_url: str) -> None:
    log = await grow(store, [40, 33])
    pools = [await asyncpg.create_pool(database_url, min_size=1, max_size=2) for _ in range(3)]
    try:
        builders = [TreeBuilder(p, page=7) for p in pools for _ in range(2)]
        sizes = await asyncio.gather(*(b.extend() for b in builders))
        assert set(sizes) == {len(log)}
        heads = await asyncio.gather(*(b.head() for b in builders))
        assert {h.root for h in heads} == {merkle.root(leaves(log))}
        assert len({h.timestamp for h in heads}) == 1
    finally:
        for p in pools:
            await p.close()


async def test_proofs_equal_the_reference(store: EventStore, pool: asyncpg.Pool) -> None:
    log = await grow(store, [3, 8, 6])  # 19 events
    tree = TreeBuilder(pool)
    await tree.extend()
    hashes = leaves(log)
    n = len(hashes)
    for size in range(1, n + 1):
        head = await tree.head(size)
        assert head.size == size
        assert head.root == merkle.root(hashes[:size])
        assert (head.timestamp is not None) == (size == n)
        for position in range(1, size + 1):
            answer = await tree.inclusion(position, size)
            assert answer.leaf_hash == hashes[position - 1]
            assert answer.proof == merkle.inclusion_proof(position - 1, size, hashes)
            assert merkle.verify_inclusion(
                answer.leaf_hash, position - 1, size, answer.proof, head.root
            )
        for first in range(size + 1):
            answer = await tree.consistency(first, size)
            assert answer.proof == merkle.consistency_proof(first, size, hashes)
    # No size: the current tree, named in the answer.
    assert (await tree.inclusion(3)).size == n
    assert (await tree.consistency(5)).second == n


async def test_sizes_beyond_the_tree(store: EventStore, pool: asyncpg.Pool) -> None:
    log = await grow(store, [5])
    tree = TreeBuilder(pool)
    await tree.extend()
    await grow(store, [2])  # the log moved on; the tree has not yet
    n = len(log)
    with pytest.raises(BeyondTree) as caught:
        await tree.inclusion(1, n + 1)
    assert (caught.value.size, caught.value.tree_size) == (n + 1, n)
    with pytest.raises(BeyondTree):
        await tree.inclusion(n + 1)
    with pytest.raises(BeyondTree):
        await tree.consistency(1, n + 2)
    with pytest.raises(BeyondTree):
        await tree.consistency(n + 1)
    with pytest.raises(BeyondTree):
        await tree.head(n + 1)
    with pytest.raises(ValueError):
        await tree.inclusion(0, n)
    with pytest.raises(ValueError):
        await tree.consistency(3, 2)


async def test_a_broken_chain_stops_the_tree_before_it(
    store: EventStore, pool: asyncpg.Pool, database_url: str
) -> None:
    log = await grow(store, [9])
    # Tampering needs the tables' owner: the service's role may not (test_roles.py).
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute(
            "UPDATE events SET payload = convert_to("
            "replace(convert_from(payload, 'UTF8'), 'BIS', 'OFAC'), 'UTF8') WHERE position = 6"
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    finally:
        await conn.close()
    tree = TreeBuilder(pool, page=4)
    with pytest.raises(TreeFault) as caught:
        await tree.extend()
    assert caught.value.position == 6
    assert tree.fault is not None and tree.fault.position == 6
    head = await tree.head()
    assert head.size == 5
    assert head.root == merkle.root(leaves(log)[:5])


async def test_the_background_builder_follows_the_log(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    tree = TreeBuilder(pool, poll_interval=0.2)
    await tree.start()  # its own LISTEN watcher
    try:
        log = await grow(store, [4])
        assert await tree.wait_for(len(log), 10)
        log = await grow(store, [3])
        assert await tree.wait_for(len(log), 10)
        assert (await tree.head()).root == merkle.root(leaves(log))
    finally:
        await tree.stop()


async def test_nodes_never_change(store: EventStore, pool: asyncpg.Pool, database_url: str) -> None:
    await grow(store, [2])
    await TreeBuilder(pool).extend()
    # The service's role may not even try (test_roles.py); the trigger refuses the owner too.
    owner = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="never change"):
            await owner.execute("UPDATE merkle_nodes SET hash = hash WHERE level = 0")
        with pytest.raises(asyncpg.RaiseError, match="never change"):
            await owner.execute("DELETE FROM merkle_nodes")
    finally:
        await owner.close()
