"""The Merkle tree of the log (RFC 6962 / 9162) and signed tree heads. Pure: no database."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import events as ev
from projections.audit import merkle as mk
from projections.audit import signing as sg
from tests.support.builders import listed

# --------------------------------------------------------------------------- published vectors
#
# Copied from Google's transparency-dev/merkle (Go), the successor of the certificate-
# transparency code: leaf inputs, node hashes and roots from `testonly/constants.go`
# (LeafInputs, NodeHashes, RootHashes, CompactTrees); inclusion and consistency proofs from
# `proof/verify_test.go` (inclusionProofs, consistencyProofs). Every constant is also checked
# below against our own reference implementation, so a copying error would fail a test.


def h(text: str) -> bytes:
    return bytes.fromhex(text)


LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# NODE_HASHES[level][index]: the perfect subtree of 2**level leaves from index * 2**level.
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# ROOT_HASHES[size] for sizes 0..8.
ROOT_HASHES = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

_nh = NODE_HASHES
# CompactTrees(): the frontier of each size, largest subtree first.
COMPACT_TREES = [
    [],
    [_nh[0][0]],
    [_nh[1][0]],
    [_nh[1][0], _nh[0][2]],
    [_nh[2][0]],
    [_nh[2][0], _nh[0][4]],
    [_nh[2][0], _nh[1][2]],
    [_nh[2][0], _nh[1][2], _nh[0][6]],
    [_nh[3][0]],
]

# (leaf index, tree size, proof). The Go table numbers leaves from 1 ({1, 8}, {6, 8}, {3, 3},
# {2, 5}); the indices here are 0-based (theirs minus one).
INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (old size, new size, proof)
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

VECTOR_LEAVES = [mk.leaf_hash(data) for data in LEAF_INPUTS]


def table_of(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """The node table a store would hold, filled by CompactTree.append."""
    tree = mk.CompactTree()
    table: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for node in tree.append(leaf):
            assert (node.level, node.index) not in table
            table[node.level, node.index] = node.hash
    return table


def flip(value: bytes, bit: int = 0) -> bytes:
    data = bytearray(value)
    data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


# --------------------------------------------------------------------------- vectors


def test_vector_constants_recomputed() -> None:
    assert mk.EMPTY_ROOT == ROOT_HASHES[0]
    assert VECTOR_LEAVES == NODE_HASHES[0]
    for level, row in enumerate(NODE_HASHES):
        for index, expected in enumerate(row):
            width = 1 << level
            assert mk.root(VECTOR_LEAVES[index * width : (index + 1) * width]) == expected
    for size, expected in enumerate(ROOT_HASHES):
        assert mk.root(VECTOR_LEAVES[:size]) == expected


def test_vector_node_table_and_compact_trees() -> None:
    table = table_of(VECTOR_LEAVES)
    assert table == {
        (level, index): value
        for level, row in enumerate(NODE_HASHES)
        for index, value in enumerate(row)
    }
    tree = mk.CompactTree()
    for size, frontier in enumerate(COMPACT_TREES):
        assert tree.size == size
        assert [node.hash for node in tree.frontier] == frontier
        assert tree.root() == ROOT_HASHES[size]
        assert mk.root_from_nodes(size, lambda lv, ix: table[lv, ix]) == ROOT_HASHES[size]
        if size < len(VECTOR_LEAVES):
            tree.append(VECTOR_LEAVES[size])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_vector_inclusion(index: int, size: int, proof: list[bytes]) -> None:
    table = table_of(VECTOR_LEAVES)
    assert mk.inclusion_proof(index, size, VECTOR_LEAVES) == proof
    assert mk.inclusion_proof_from_nodes(index, size, lambda lv, ix: table[lv, ix]) == proof
    leaf, root = VECTOR_LEAVES[index], ROOT_HASHES[size]
    assert mk.verify_inclusion(leaf, index, size, proof, root)
    # The probes of transparency-dev's corruptInclusionProof.
    probes = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, b"WrongLeaf", proof),
        (index, size, mk.EMPTY_ROOT, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, [*proof, b""]),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [b"", *proof]),
        (index, size, root, leaf, [root, *proof]),
    ]
    for i in range(len(proof)):
        probes.append((index, size, root, leaf, [*proof[:i], flip(proof[i], 3), *proof[i + 1 :]]))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH, *proof[1:]]))
    for p_index, p_size, p_root, p_leaf, p_proof in probes:
        assert not mk.verify_inclusion(p_leaf, p_index, p_size, p_proof, p_root), (p_index, p_size)


@pytest.mark.parametrize(("m", "n", "proof"), CONSISTENCY_PROOFS)
def test_vector_consistency(m: int, n: int, proof: list[bytes]) -> None:
    table = table_of(VECTOR_LEAVES)
    assert mk.consistency_proof(m, n, VECTOR_LEAVES) == proof
    assert mk.consistency_proof_from_nodes(m, n, lambda lv, ix: table[lv, ix]) == proof
    old, new = ROOT_HASHES[m], ROOT_HASHES[n]
    assert mk.verify_consistency(m, n, proof, old, new)
    if not proof:
        return
    # The probes of transparency-dev's corruptConsistencyProof.
    probes = [
        (m - 1, n, old, new, proof),
        (m + 1, n, old, new, proof),
        (m ^ 2, n, old, new, proof),
        (m, n * 2, old, new, proof),
        (m, n // 2, old, new, proof),
        (m, n, b"WrongRoot", new, proof),
        (m, n, old, b"WrongRoot", proof),
        (m, n, new, old, proof),
        (m, n, old, new, []),
        (m, n, old, new, [*proof, b""]),
        (m, n, old, new, [*proof, old]),
        (m, n, old, new, [*proof, new]),
        (m, n, old, new, [b"", *proof]),
        (m, n, old, new, [old, *proof]),
        (m, n, old, new, [new, *proof]),
        (m, n, old, new, [proof[0], *proof]),
        (m, n, old, new, proof[:-1]),
    ]
    for i in range(len(proof)):
        probes.append((m, n, old, new, [*proof[:i], flip(proof[i], 4), *proof[i + 1 :]]))
    for p_m, p_n, p_old, p_new, p_proof in probes:
        assert not mk.verify_consistency(p_m, p_n, p_proof, p_old, p_new), (p_m, p_n)


def test_inclusion_edge_cases() -> None:
    one = mk.leaf_hash(b"data")
    assert mk.verify_inclusion(one, 0, 1, [], one)
    assert not mk.verify_inclusion(one, 0, 1, [], b"")
    assert not mk.verify_inclusion(b"", 0, 1, [], one)
    assert not mk.verify_inclusion(b"", 0, 1, [], b"")
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert not mk.verify_inclusion(SOME_HASH, index, size, [], b"")
        assert not mk.verify_inclusion(b"", index, size, [], mk.EMPTY_ROOT)
        assert not mk.verify_inclusion(SOME_HASH, index, size, [], mk.EMPTY_ROOT)
    # Malformed input of any kind: False, never an exception.
    junk: list[object] = [None, "x", 1.5, -1, True, [None], [1], "ab" * 32, object()]
    for bad in junk:
        assert not mk.verify_inclusion(bad, 0, 1, [], one)  # type: ignore[arg-type]
        assert not mk.verify_inclusion(one, bad, 1, [], one)  # type: ignore[arg-type]
        assert not mk.verify_inclusion(one, 0, bad, [], one)  # type: ignore[arg-type]
        assert not mk.verify_inclusion(one, 0, 2, [bad], one)  # type: ignore[list-item]
        assert not mk.verify_inclusion(one, 0, 1, bad, one)  # type: ignore[arg-type]
        assert not mk.verify_inclusion(one, 0, 1, [], bad)  # type: ignore[arg-type]
    assert not mk.verify_inclusion(one, 0, 2, one, one)  # a bare hash is not a proof
    assert mk.verify_inclusion(bytearray(one), 0, 1, (), memoryview(one))


def test_consistency_edge_cases() -> None:
    r1, r2 = ROOT_HASHES[1], ROOT_HASHES[2]
    empty = mk.EMPTY_ROOT
    assert mk.verify_consistency(0, 0, [], empty, empty)
    assert mk.verify_consistency(0, 2, [], empty, r2)
    assert mk.verify_consistency(1, 1, [], r1, r1)
    assert not mk.verify_consistency(0, 0, [], r1, r1)  # stricter than transparency-dev
    assert not mk.verify_consistency(0, 2, [], r1, r2)  # ditto: the empty tree has one root
    assert not mk.verify_consistency(1, 1, [], r1, r2)
    assert not mk.verify_consistency(1, 0, [], r1, r2)  # time travel
    assert not mk.verify_consistency(2, 1, [], r2, r1)
    assert not mk.verify_consistency(1, 2, [], r1, r2)  # empty proof
    for m, n in [(0, 0), (0, 1), (1, 1)]:  # roots match but the proof is not empty
        assert not mk.verify_consistency(m, n, [empty], empty, empty)
    assert not mk.verify_consistency(1, 1, [empty], r1, r1)
    junk: list[object] = [None, "x", 1.5, -1, True, [None], [1], object(), b"short"]
    good = mk.consistency_proof(1, 2, VECTOR_LEAVES)
    assert mk.verify_consistency(1, 2, good, r1, r2)
    for bad in junk:
        assert not mk.verify_consistency(bad, 2, good, r1, r2)  # type: ignore[arg-type]
        assert not mk.verify_consistency(1, bad, good, r1, r2)  # type: ignore[arg-type]
        assert not mk.verify_consistency(1, 2, bad, r1, r2)  # type: ignore[arg-type]
        assert not mk.verify_consistency(1, 2, [bad], r1, r2)  # type: ignore[list-item]
        assert not mk.verify_consistency(1, 2, good, bad, r2)  # type: ignore[arg-type]
        assert not mk.verify_consistency(1, 2, good, r1, bad)  # type: ignore[arg-type]


def test_generators_refuse_impossible_requests() -> None:
    table = table_of(VECTOR_LEAVES)

    def get(level: int, index: int) -> bytes:
        return table[level, index]

    for index, size in [(0, 0), (3, 3), (-1, 2), (0, 9)]:
        with pytest.raises(ValueError):
            mk.inclusion_proof(index, size, VECTOR_LEAVES)
        if size <= 8:
            with pytest.raises(ValueError):
                mk.inclusion_proof_from_nodes(index, size, get)
    for m, n in [(3, 2), (-1, 2), (2, 9)]:
        with pytest.raises(ValueError):
            mk.consistency_proof(m, n, VECTOR_LEAVES)
    with pytest.raises(ValueError):
        mk.consistency_proof_from_nodes(3, 2, get)
    with pytest.raises(ValueError):
        mk.CompactTree(3, [SOME_HASH])
    with pytest.raises(ValueError):
        mk.CompactTree().append(b"short")


def test_leaf_of_is_the_canonical_envelope() -> None:
    payload = ev.canonical(ev.with_id(listed("huawei", "2019-05-16"), uuid.UUID(int=7)))
    at = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    recorded = ev.RecordedEvent(
        position=1,
        type="EntityListed",
        entity="huawei",
        recorded_at=at,
        schema_version=1,
        prev_hash=ev.GENESIS_HASH,
        hash=ev.chain_hash(
            ev.GENESIS_HASH, payload=payload, position=1, recorded_at=at, schema_version=1
        ),
        payload=payload,
    )
    envelope = ev.envelope_bytes(payload=payload, position=1, recorded_at=at, schema_version=1)
    assert mk.leaf_data(recorded) == envelope
    assert mk.leaf_of(recorded) == mk.leaf_hash(envelope)
    # The chain hash and the leaf hash cover the same bytes, differently prefixed.
    assert recorded.hash != mk.leaf_of(recorded)
    for changed in (
        msgspec.structs.replace(recorded, position=2),
        msgspec.structs.replace(recorded, recorded_at=at + dt.timedelta(microseconds=1)),
        msgspec.structs.replace(recorded, payload=payload.replace(b"huawei", b"huawex")),
    ):
        assert mk.leaf_of(changed) != mk.leaf_of(recorded)


# --------------------------------------------------------------------------- properties

MAX = 300
LEAVES = [mk.leaf_hash(b"leaf %d" % i) for i in range(MAX)]
TABLE = table_of(LEAVES)
ROOTS = [mk.root(LEAVES[:size]) for size in range(MAX + 1)]


def get_node(level: int, index: int) -> bytes:
    return TABLE[level, index]


def test_node_table_holds_exactly_the_perfect_subtrees() -> None:
    expected = {
        (level, index)
        for level in range(MAX.bit_length())
        for index in range(MAX >> level)  # (index + 1) * 2**level <= MAX
    }
    assert set(TABLE) == expected
    for (level, index), value in TABLE.items():
        assert value == mk.root(LEAVES[index << level : (index + 1) << level])


def test_compact_tree_root_at_every_size() -> None:
    tree = mk.CompactTree()
    for size in range(MAX + 1):
        assert tree.root() == ROOTS[size]
        assert mk.root_from_nodes(size, get_node) == ROOTS[size]
        assert [(n.level, n.index) for n in tree.frontier] == mk.perfect_subtrees(0, size)
        assert len(mk.nodes_for_root(size)) == size.bit_count()
        restored = mk.CompactTree.from_nodes(size, get_node)
        assert restored.size == size and restored.root() == ROOTS[size]
        if size < MAX:
            new = tree.append(LEAVES[size])
            assert new[0] == mk.Node(0, size, LEAVES[size])
            assert all(TABLE[n.level, n.index] == n.hash for n in new)
            assert len(new) == ((size + 1) ^ size).bit_length()  # 1 + trailing ones of size


def test_small_trees_exhaustively() -> None:
    for n in range(1, 33):
        for index in range(n):
            proof = mk.inclusion_proof(index, n, LEAVES)
            assert mk.inclusion_proof_from_nodes(index, n, get_node) == proof
            assert mk.verify_inclusion(LEAVES[index], index, n, proof, ROOTS[n])
        for m in range(n + 1):
            proof = mk.consistency_proof(m, n, LEAVES)
            assert mk.consistency_proof_from_nodes(m, n, get_node) == proof
            assert mk.verify_consistency(m, n, proof, ROOTS[m], ROOTS[n])


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, MAX))
    return n, draw(st.integers(0, n - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, MAX))
    return draw(st.integers(0, n)), n


def lookups_bound(n: int) -> int:
    return 2 * n.bit_length() + 1


@settings(max_examples=150, deadline=None)
@given(size_and_index(), st.data())
def test_inclusion_properties(case: tuple[int, int], data: st.DataObject) -> None:
    n, index = case
    leaf, root = LEAVES[index], ROOTS[n]
    proof = mk.inclusion_proof(index, n, LEAVES)
    assert mk.inclusion_proof_from_nodes(index, n, get_node) == proof
    assert len(mk.nodes_for_inclusion(index, n)) <= lookups_bound(n)
    assert mk.verify_inclusion(leaf, index, n, proof, root)
    assert mk.root_from_inclusion_proof(leaf, index, n, proof) == root
    # Any flipped bit in a proof element, the leaf or the root fails.
    bit = data.draw(st.integers(0, 255), label="bit")
    for i in range(len(proof)):
        bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
        assert not mk.verify_inclusion(leaf, index, n, bad, root)
    assert not mk.verify_inclusion(flip(leaf, bit), index, n, proof, root)
    assert not mk.verify_inclusion(leaf, index, n, proof, flip(root, bit))
    assert not mk.verify_inclusion(leaf, index, n, [*proof, SOME_HASH], root)
    if proof:
        assert not mk.verify_inclusion(leaf, index, n, proof[:-1], root)
    # Another leaf's proof, or another index, fails.
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index) if n > 1 else st.none())
    if other is not None:
        assert not mk.verify_inclusion(leaf, other, n, proof, root)
        assert not mk.verify_inclusion(leaf, index, n, mk.inclusion_proof(other, n, LEAVES), root)
        assert not mk.verify_inclusion(LEAVES[other], index, n, proof, root)
    assert not mk.verify_inclusion(leaf, n + index, n, proof, root)
    # A wrong size fails whenever its proofs have another length (always for 2n). A proof of
    # the same shape for another size does verify: only a signed head binds root to size.
    assert not mk.verify_inclusion(leaf, index, 2 * n, proof, root)
    wrong = data.draw(st.integers(index + 1, 2 * MAX).filter(lambda s: s != n), label="size")
    if wrong <= MAX and len(mk.inclusion_proof(index, wrong, LEAVES)) != len(proof):
        assert not mk.verify_inclusion(leaf, index, wrong, proof, root)


@settings(max_examples=150, deadline=None)
@given(two_sizes(), st.data())
def test_consistency_properties(case: tuple[int, int], data: st.DataObject) -> None:
    m, n = case
    old, new = ROOTS[m], ROOTS[n]
    proof = mk.consistency_proof(m, n, LEAVES)
    assert mk.consistency_proof_from_nodes(m, n, get_node) == proof
    assert len(mk.nodes_for_consistency(m, n)) <= lookups_bound(n)
    assert mk.verify_consistency(m, n, proof, old, new)
    if m in (0, n):
        assert proof == []
        return
    bit = data.draw(st.integers(0, 255), label="bit")
    for i in range(len(proof)):
        bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
        assert not mk.verify_consistency(m, n, bad, old, new)
    assert not mk.verify_consistency(m, n, proof, flip(old, bit), new)
    assert not mk.verify_consistency(m, n, proof, old, flip(new, bit))
    assert not mk.verify_consistency(m, n, proof, new, old)
    assert not mk.verify_consistency(m, n, proof[:-1], old, new)
    assert not mk.verify_consistency(m, n, [*proof, SOME_HASH], old, new)
    assert not mk.verify_consistency(m, n, [SOME_HASH, *proof], old, new)
    # Another old size always fails; another new size fails when its proof has another length.
    other = data.draw(st.integers(1, n - 1).filter(lambda k: k != m) if n > 2 else st.none())
    if other is not None:
        assert not mk.verify_consistency(other, n, proof, old, new)
        assert not mk.verify_consistency(other, n, proof, ROOTS[other], new)
    assert not mk.verify_consistency(m, 2 * n, proof, old, new)
    wrong = data.draw(st.integers(m + 1, MAX).filter(lambda s: s != n), label="size")
    if len(mk.consistency_proof(m, wrong, LEAVES)) != len(proof):
        assert not mk.verify_consistency(m, wrong, proof, old, new)


def test_a_root_commits_to_its_size_only_through_a_signed_head() -> None:
    # Documented RFC 6962 behaviour: the proof of leaf 0 in a tree of 5 has the same shape as
    # in a tree of 6, so it verifies against the size-5 root for either size.
    proof = mk.inclusion_proof(0, 5, LEAVES)
    assert mk.verify_inclusion(LEAVES[0], 0, 6, proof, ROOTS[5])
    assert not mk.verify_inclusion(LEAVES[0], 0, 6, proof, ROOTS[6])


# --------------------------------------------------------------------------- signed heads

KEY = sg.generate_private_key()
OTHER = sg.generate_private_key()
WHEN = dt.datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def test_signed_head_verifies_and_round_trips() -> None:
    head = sg.sign_head(KEY, 8, ROOT_HASHES[8], WHEN)
    assert head.size == 8 and head.root == ROOT_HASHES[8]
    assert head.timestamp == WHEN and head.timestamp.utcoffset() == dt.timedelta(0)
    assert head.key_id == sg.key_id(KEY.public_key()) and len(head.key_id) == 16
    assert len(base64.b64decode(head.signature)) == 64
    assert sg.verify_head(KEY.public_key(), head)
    decoded = sg.decode_head(sg.encode_head(head))
    assert decoded == head and sg.verify_head(KEY.public_key(), decoded)
    expected = f"8\n{ROOT_HASHES[8].hex()}\n2025-03-04T03:06:07.890123Z\n{head.key_id}\n"
    assert sg.head_content(head) == b"sanctions-timeline tree head v1\n" + expected.encode()


def test_signed_head_content_is_deterministic() -> None:
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    head = sg.sign_head(KEY, 0, mk.EMPTY_ROOT, at)
    assert sg.head_content(head).split(b"\n")[3] == b"2025-01-01T00:00:00.000000Z"
    assert sg.sign_head(KEY, 0, mk.EMPTY_ROOT, at) == head  # Ed25519 is deterministic
    assert sg.verify_head(KEY.public_key(), sg.decode_head(sg.encode_head(head)))


def test_tampered_or_foreign_heads_fail() -> None:
    head = sg.sign_head(KEY, 8, ROOT_HASHES[8], WHEN)
    public = KEY.public_key()
    assert not sg.verify_head(OTHER.public_key(), head)
    forged = sg.sign_head(OTHER, 8, ROOT_HASHES[8], WHEN)
    assert not sg.verify_head(public, forged)
    assert not sg.verify_head(public, msgspec.structs.replace(forged, key_id=head.key_id))
    bad_signature = base64.b64encode(flip(base64.b64decode(head.signature), 77)).decode()
    for changed in (
        msgspec.structs.replace(head, size=7),
        msgspec.structs.replace(head, size=9),
        msgspec.structs.replace(head, root_hash=ROOT_HASHES[7].hex()),
        msgspec.structs.replace(head, root_hash=flip(ROOT_HASHES[8], 200).hex()),
        msgspec.structs.replace(head, root_hash=head.root_hash.upper()),
        msgspec.structs.replace(head, timestamp=WHEN + dt.timedelta(microseconds=1)),
        msgspec.structs.replace(head, key_id=sg.key_id(OTHER.public_key())),
        msgspec.structs.replace(head, signature=bad_signature),
        msgspec.structs.replace(head, signature="not base64!"),
        msgspec.structs.replace(head, signature=head.signature[:-4]),
        msgspec.structs.replace(head, size=-1),
        msgspec.structs.replace(head, timestamp=WHEN.replace(tzinfo=None)),
    ):
        assert not sg.verify_head(public, changed)


def test_keys_serialise_and_load() -> None:
    public = KEY.public_key()
    head = sg.sign_head(KEY, 3, ROOT_HASHES[3], WHEN)
    for private in (
        sg.load_private_key(sg.private_key_pem(KEY)),
        sg.load_private_key(sg.private_key_raw(KEY)),
    ):
        assert sg.sign_head(private, 3, ROOT_HASHES[3], WHEN) == head
    info_json = msgspec.json.encode(sg.key_info(public))
    for loaded in (
        sg.load_public_key(sg.public_key_pem(public)),
        sg.load_public_key(sg.public_key_raw(public)),
        sg.public_key_from_info(sg.key_info(public)),
        sg.public_key_from_info(msgspec.json.decode(info_json, type=sg.KeyInfo)),
    ):
        assert sg.verify_head(loaded, head)
    with pytest.raises(ValueError):
        sg.load_private_key(b"too short")
    with pytest.raises(ValueError):
        sg.load_public_key(sg.private_key_pem(KEY))
    with pytest.raises(ValueError):
        sg.public_key_from_info(
            sg.KeyInfo(key_id="0" * 16, public_key=sg.key_info(public).public_key)
        )
    with pytest.raises(ValueError):
        sg.decode_head(b'{"size": 1}')
    with pytest.raises(ValueError):  # a naive timestamp is refused on decode
        sg.decode_head(sg.encode_head(head).replace(b"Z", b""))
    with pytest.raises(ValueError):
        sg.sign_head(KEY, 1, b"short", WHEN)
    with pytest.raises(ValueError):
        sg.sign_head(KEY, 1, ROOT_HASHES[1], WHEN.replace(tzinfo=None))
