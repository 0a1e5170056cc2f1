"""The Merkle tree of the log, in the manner of RFC 6962 / RFC 9162 (Certificate Transparency).

Leaves. The leaf for log position p (1-based) is at leaf index p - 1; its data is the event's
canonical envelope (`events.codec.envelope_bytes`, exactly the bytes inside the hash chain), and

    leaf_hash(data)        = SHA-256(0x00 || data)
    node_hash(left, right) = SHA-256(0x01 || left || right)
    MTH({})                = SHA-256("")                            (EMPTY_ROOT)
    MTH({d0})              = leaf_hash(d0)
    MTH(D[n])              = node_hash(MTH(D[0:k]), MTH(D[k:n]))    k = largest power of 2 < n

All functions here take *leaf hashes* (32 bytes each), never leaf data, except `leaf_hash`.

Node addressing. `(level, index)` names the perfect subtree of 2**level leaves that covers the
leaf indices [index * 2**level, (index + 1) * 2**level). Level 0 holds the leaf hashes
themselves: node (0, i) is leaf_hash of leaf i; node (l + 1, i) = node_hash((l, 2i), (l, 2i + 1)).
In a log of size N the node (level, index) exists iff (index + 1) * 2**level <= N; once it exists
its hash never changes, so a table `(level, index, hash)` only ever grows (`CompactTree.append`
says which rows each new leaf adds: one per level, about two per leaf on average). A tree of
any size n <= N, its root and every proof about it, are computed from that table with O(log n)
lookups (`root_from_nodes`, `inclusion_proof_from_nodes`, `consistency_proof_from_nodes`); the
`nodes_for_*` functions list the addresses needed beforehand, to fetch them in one query.

Subtrees of a non-power-of-two tree that are not perfect ("ragged" right edges, e.g. leaves
[4, 7) of a tree of 7) are never stored: such a range [start, end) with start a multiple of a
power of two >= end - start is split greedily into perfect nodes, largest first, and folded
from the right: MTH = node_hash(p1, node_hash(p2, ... pk)).

Pure: hashlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from events.codec import RecordedEvent, envelope_bytes

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

GetNode = Callable[[int, int], bytes]
"""`get_node(level, index)` -> the 32-byte hash of the perfect subtree (level, index)."""


class Node(NamedTuple):
    """A perfect subtree: 2**level leaves from leaf index `index * 2**level`."""

    level: int
    index: int
    hash: bytes


# --------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf (RFC 6962 §2.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node (RFC 6962 §2.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_data(recorded: RecordedEvent) -> bytes:
    """The leaf data of a recorded event: its canonical envelope, as in the hash chain."""
    return envelope_bytes(
        payload=recorded.payload,
        position=recorded.position,
        recorded_at=recorded.recorded_at,
        schema_version=recorded.schema_version,
    )


def leaf_of(recorded: RecordedEvent) -> bytes:
    """The leaf hash of a recorded event (leaf index = position - 1)."""
    return leaf_hash(leaf_data(recorded))


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- reference (RFC 6962)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 6962 §2.1); EMPTY_ROOT for no leaves. O(n)."""
    return _mth(leaves, 0, len(leaves)) if leaves else EMPTY_ROOT


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(index: int, size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 6962 §2.1.1 over the first `size` leaf hashes (0-based index).

    Reference version, O(size). Raises ValueError unless 0 <= index < size <= len(leaves).
    """
    if not 0 <= index < size <= len(leaves):
        raise ValueError(f"no leaf {index} in a tree of size {size} ({len(leaves)} leaves known)")
    return _path(leaves, index, 0, size)


def _path(leaves: Sequence[bytes], m: int, lo: int, hi: int) -> list[bytes]:
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(leaves, m, lo, lo + k), _mth(leaves, lo + k, hi)]
    return [*_path(leaves, m - k, lo + k, hi), _mth(leaves, lo, lo + k)]


def consistency_proof(m: int, n: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2: the tree of size m is a prefix of the tree of size n.

    Reference version, O(n). Empty when m == 0 or m == n. Raises ValueError unless
    0 <= m <= n <= len(leaves).
    """
    if not 0 <= m <= n <= len(leaves):
        raise ValueError(f"no consistency proof from {m} to {n} ({len(leaves)} leaves known)")
    if m == 0:
        return []
    return _subproof(leaves, m, 0, n, True)


def _subproof(leaves: Sequence[bytes], m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if b else [_mth(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, lo, lo + k, b), _mth(leaves, lo + k, hi)]
    return [*_subproof(leaves, m - k, lo + k, hi, False), _mth(leaves, lo, lo + k)]


# --------------------------------------------------------------------------- node lookups


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split the leaf range [start, end) greedily into aligned perfect subtrees, left to right.

    Returns (level, index) addresses. For [0, n) these are the 'frontier' of the tree of size n:
    one node per set bit of n, largest first.
    """
    if not 0 <= start <= end:
        raise ValueError(f"bad range [{start}, {end})")
    out: list[tuple[int, int]] = []
    while start < end:
        # The largest level the start is aligned to and that still fits in the range.
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def _fold(hashes: Sequence[bytes]) -> bytes:
    """node_hash(h1, node_hash(h2, ... hk)): MTH of a range from its perfect pieces."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_hash(start: int, end: int, get_node: GetNode) -> bytes:
    """MTH(D[start:end]) from stored perfect nodes, for a range the RFC recursion produces.

    That is: end > start and start is a multiple of a power of two >= end - start (e.g. any
    [0, n), or the right sibling [k * 2**l, n) of a node on the path to a leaf).
    """
    if end <= start:
        raise ValueError(f"empty range [{start}, {end})")
    return _fold([get_node(level, index) for level, index in perfect_subtrees(start, end)])


def root_from_nodes(size: int, get_node: GetNode) -> bytes:
    """The root of the tree of `size` leaves: the frontier nodes folded from the right."""
    if size < 0:
        raise ValueError(f"bad size {size}")
    return range_hash(0, size, get_node) if size else EMPTY_ROOT


def _sibling(level: int, index: int, size: int, get_node: GetNode) -> bytes:
    """The node (level, index), or if it sticks out past `size`, the ragged part inside."""
    start = index << level
    end = min((index + 1) << level, size)
    if end - start == 1 << level:
        return get_node(level, index)
    return range_hash(start, end, get_node)


def inclusion_proof_from_nodes(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """PATH(index, D[size]) from stored nodes: O(log size) lookups; equals `inclusion_proof`.

    Walks up from the leaf like the RFC 9162 §2.1.3.2 verifier: at each level the sibling is a
    left node (index odd: always perfect), a right node (possibly ragged at the right edge), or
    absent (the node is the last one of its level and is carried up unchanged).
    """
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of size {size}")
    proof: list[bytes] = []
    fn, sn, level = index, size - 1, 0
    while sn:
        if fn & 1:
            proof.append(get_node(level, fn - 1))
        elif fn < sn:
            proof.append(_sibling(level, fn + 1, size, get_node))
        fn, sn, level = fn >> 1, sn >> 1, level + 1
    return proof


def consistency_proof_from_nodes(m: int, n: int, get_node: GetNode) -> list[bytes]:
    """PROOF(m, D[n]) from stored nodes: O(log n) lookups; equals `consistency_proof`."""
    if not 0 <= m <= n:
        raise ValueError(f"no consistency proof from {m} to {n}")
    if m in (0, n):
        return []
    proof: list[bytes] = []
    fn, sn, level = m - 1, n - 1, 0
    while fn & 1:  # climb to the smallest frontier node of the old tree, which ends at m
        fn, sn, level = fn >> 1, sn >> 1, level + 1
    if m & (m - 1):  # when m is a power of two that node is the old root: the verifier has it
        proof.append(get_node(level, fn))
    while sn:
        if fn & 1:
            proof.append(get_node(level, fn - 1))
        elif fn < sn:
            proof.append(_sibling(level, fn + 1, n, get_node))
        fn, sn, level = fn >> 1, sn >> 1, level + 1
    return proof


def _addresses(compute: Callable[[GetNode], object]) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        seen.append((level, index))
        return EMPTY_ROOT  # any 32 bytes: which nodes are read never depends on their hashes

    compute(record)
    return list(dict.fromkeys(seen))


def nodes_for_root(size: int) -> list[tuple[int, int]]:
    """The (level, index) addresses `root_from_nodes(size, ...)` reads."""
    return _addresses(lambda get: root_from_nodes(size, get))


def nodes_for_inclusion(index: int, size: int) -> list[tuple[int, int]]:
    """The (level, index) addresses `inclusion_proof_from_nodes(index, size, ...)` reads."""
    return _addresses(lambda get: inclusion_proof_from_nodes(index, size, get))


def nodes_for_consistency(m: int, n: int) -> list[tuple[int, int]]:
    """The (level, index) addresses `consistency_proof_from_nodes(m, n, ...)` reads."""
    return _addresses(lambda get: consistency_proof_from_nodes(m, n, get))


# --------------------------------------------------------------------------- incremental tree


class CompactTree:
    """The right edge of the tree: the perfect subtrees whose sizes are the set bits of `size`.

    Appending a leaf is O(log n) and yields the nodes that became complete, which are exactly
    the rows a node table gains; `root()` needs only the frontier. Restore one from a node
    table with `CompactTree.from_nodes(size, get_node)`.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self, size: int = 0, frontier: Iterable[bytes] = ()) -> None:
        """`frontier`: hashes of `perfect_subtrees(0, size)`, largest (leftmost) first."""
        hashes = [bytes(h) for h in frontier]
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {max(size, 0).bit_count()} frontier nodes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("frontier hashes must be 32 bytes")
        self._size = size
        self._frontier = hashes

    @classmethod
    def from_nodes(cls, size: int, get_node: GetNode) -> CompactTree:
        return cls(size, [get_node(level, index) for level, index in perfect_subtrees(0, size)])

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> list[Node]:
        """The frontier nodes with their addresses, largest first."""
        return [
            Node(level, index, h)
            for (level, index), h in zip(
                perfect_subtrees(0, self._size), self._frontier, strict=True
            )
        ]

    def append(self, leaf: bytes) -> list[Node]:
        """Add the leaf hash at index `size`. Returns the new nodes, lowest level first.

        The first is always `Node(0, old_size, leaf)`; then one per level where the new
        node completed a pair, each the parent of the previous one.
        """
        leaf = bytes(leaf)
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        index = self._size
        created = [Node(0, index, leaf)]
        h, level = leaf, 0
        while index & 1:
            h = node_hash(self._frontier.pop(), h)
            level, index = level + 1, index >> 1
            created.append(Node(level, index, h))
        self._frontier.append(h)
        self._size += 1
        return created

    def extend(self, leaves: Iterable[bytes]) -> list[Node]:
        """Append several leaf hashes; all new nodes in order."""
        return [node for leaf in leaves for node in self.append(leaf)]

    def root(self) -> bytes:
        return _fold(self._frontier) if self._frontier else EMPTY_ROOT

    def copy(self) -> CompactTree:
        return CompactTree(self._size, self._frontier)

    def __repr__(self) -> str:
        return f"CompactTree(size={self._size}, root={self.root().hex()})"


# --------------------------------------------------------------------------- verifiers (RFC 9162)


def _as_hash(value: object) -> bytes | None:
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value)
        return value if len(value) == HASH_SIZE else None
    return None


def _as_proof(proof: object) -> list[bytes] | None:
    if isinstance(proof, str | bytes | bytearray | memoryview) or not isinstance(proof, Sequence):
        return None
    out = []
    for element in proof:
        h = _as_hash(element)
        if h is None:
            return None
        out.append(h)
    return out


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2), or None if malformed."""
    leaf = _as_hash(leaf_hash)
    path = _as_proof(proof)
    if leaf is None or path is None or not (_is_size(index) and _is_size(size)):
        return None
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff `proof` shows leaf hash `leaf_hash` at 0-based `index` in the tree of `size`
    leaves whose root is `root` (RFC 9162 §2.1.3.2). Malformed input gives False, never raises.

    The root commits to the size only through a signed head: always check `root` against a
    head of the same size.
    """
    expected = _as_hash(root)
    got = root_from_inclusion_proof(leaf_hash, index, size, proof)
    return expected is not None and got is not None and got == expected


def verify_consistency(
    m: int, n: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """True iff `proof` shows the tree of size m (root `old_root`) is a prefix of the tree of
    size n (root `new_root`) (RFC 9162 §2.1.4.2). Malformed input gives False, never raises.

    Edge cases: m == n needs an empty proof and equal roots; m == 0 needs an empty proof and
    old_root == EMPTY_ROOT (and new_root == EMPTY_ROOT too when n == 0).
    """
    first, second = _as_hash(old_root), _as_hash(new_root)
    path = _as_proof(proof)
    if first is None or second is None or path is None or not (_is_size(m) and _is_size(n)):
        return False
    if m > n:
        return False
    if m == 0:
        return not path and first == EMPTY_ROOT and (n > 0 or second == EMPTY_ROOT)
    if m == n:
        return not path and first == second
    if not path:
        return False
    if m & (m - 1) == 0:  # m is a power of two
        path = [first, *path]
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first and sr == second
