"""Canonical bytes of answers: the same state gives the same bytes wherever it is computed.

msgspec JSON, keys sorted at every level (struct fields and dicts), no insignificant white
space, UTF-8; `known_at` in UTC (`...Z`), dates as ISO 8601. `state_hash` is the SHA-256 of
those bytes, in hex (an ETag, or a check that a replay equals the server's answer).
"""

from __future__ import annotations

import hashlib

import msgspec

from projections.state import EntityState

Answer = msgspec.Struct | tuple[msgspec.Struct, ...]
"""A state, list members, changes, or any answer made of them (a page, a count)."""

_encoder = msgspec.json.Encoder(order="sorted")
_state_decoder = msgspec.json.Decoder(EntityState, strict=True)


def canonical_json(answer: Answer) -> bytes:
    """Canonical JSON bytes of a state, of list members or of changes."""
    return _encoder.encode(answer)


def state_hash(state: EntityState) -> str:
    """SHA-256 (hex) of the state's canonical bytes."""
    return hashlib.sha256(canonical_json(state)).hexdigest()


def decode_state(data: bytes | str) -> EntityState:
    """Read a state back from its JSON (a snapshot, an API answer, an offline replay)."""
    return _state_decoder.decode(data)
