"""Verify an export offline: the hash chain, every leaf of the Merkle tree, and a signed head.

Needs nothing but the file (and, for a head, the public key to check it against): no database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events import GENESIS_HASH
from projections.audit import merkle, signing
from projections.audit.export_format import Progress, VerifyFault, envelope_of, read_export


@dataclasses.dataclass(frozen=True, slots=True)
class VerifyReport:
    events: int
    root: bytes
    """The Merkle root of the whole export."""
    last_hash: bytes
    head_size: int | None
    """The size of the head checked against (its root matched), or None without a head."""
    signature_checked: bool


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM, raw 32 bytes, base64 of them, or `GET /v1/log/key` JSON."""
    text = data.strip()
    if text.startswith(b"{"):
        try:
            info = msgspec.json.decode(text, type=signing.KeyInfo)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not a key document: {exc}") from None
        return signing.public_key_from_info(info)
    if len(data) == 32:
        return signing.load_public_key(data)
    if text.startswith(b"-----BEGIN"):
        return signing.load_public_key(text)
    import base64
    import binascii

    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("expected a PEM public key, 32 raw bytes, base64, or key JSON") from None
    return signing.load_public_key(raw)


def verify(
    stream: Iterable[bytes],
    *,
    head: signing.SignedHead | None = None,
    key: Ed25519PublicKey | None = None,
    progress: Progress | None = None,
    progress_every: int = 50_000,
) -> VerifyReport:
    """Check an export: the hash chain, every event's leaf, and, given a head, that the root of
    its first `head.size` events is the head's root (and, given a key, the head's signature).
    Raises VerifyFault at the first fault."""
    if head is not None and key is not None:
        if head.key_id != signing.key_id(key):
            raise VerifyFault(
                None, f"the head names key {head.key_id}, not the given key {signing.key_id(key)}"
            )
        if not signing.verify_head(key, head):
            raise VerifyFault(None, "the head's signature is not valid for the given key")
    tree = merkle.CompactTree()
    head_root: bytes | None = merkle.EMPTY_ROOT if head is not None and head.size == 0 else None
    last_hash = GENESIS_HASH
    count = 0
    for recorded in read_export(stream):
        tree.append(merkle.leaf_hash(envelope_of(recorded)))
        last_hash = recorded.hash
        count += 1
        if head is not None and count == head.size:
            head_root = tree.root()
        if progress is not None and count % progress_every == 0:
            progress(count)
    if progress is not None:
        progress(count)
    if head is not None:
        if count < head.size:
            raise VerifyFault(
                count + 1,
                f"truncated: the export ends at position {count} but the head covers "
                f"{head.size} events",
            )
        if head_root != head.root:
            raise VerifyFault(
                None,
                f"the Merkle root of the first {head.size} events is {head_root.hex()}, "  # type: ignore[union-attr]
                f"not the head's {head.root_hash}: the log differs from what was signed",
            )
    return VerifyReport(
        events=count,
        root=tree.root(),
        last_hash=last_hash,
        head_size=head.size if head is not None else None,
        signature_checked=head is not None and key is not None,
    )
