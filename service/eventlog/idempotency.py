"""Idempotency keys for appends: a retry of the same request is answered, not appended again.

Semantics of the IETF httpapi `Idempotency-Key` header draft, per token:
- a key seen with the same request (same events, same expected positions) is answered with the
  answer first given, marked `Idempotent-Replayed: true`;
- a key seen with another request is refused (422);
- keys are kept `RETENTION`; after that a key may be used again.

Events without an id are given ids derived from (token, key, request fingerprint, index), so
two attempts of one keyed request carry the same ids: even attempts that overlap, or a retry
after an attempt that committed but never recorded its answer, are deduplicated by the log's
idempotency by id and never appended twice.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from events import AnyEvent, canonical, encode, with_id
from service.errors import EventRejected

RETENTION = _dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255
_ID_NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4c1e-9a0d-2f4b8e6c1a35")

_CLAIM = """
INSERT INTO idempotency_keys (token_id, key, fingerprint) VALUES ($1, $2, $3)
ON CONFLICT (token_id, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, created_at = now(), status = NULL, response = NULL
    WHERE idempotency_keys.created_at < now() - $4::interval
RETURNING true
"""
_LOOKUP = (
    "SELECT fingerprint, status, response FROM idempotency_keys WHERE token_id = $1 AND key = $2"
)
_RECORD = """
UPDATE idempotency_keys SET status = $4, response = $5
WHERE token_id = $1 AND key = $2 AND fingerprint = $3 AND response IS NULL
"""
_PURGE = "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval"


class KeyReused(EventRejected):
    """The idempotency key was used before, by this token, for another request."""

    slug = "idempotency-key-reused"
    title = "The idempotency key was used for another request"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


def fingerprint_of(events: Sequence[AnyEvent], expected: Mapping[str, int]) -> bytes:
    """SHA-256 of a request's meaning: each event's canonical bytes, then the expected
    positions (sorted), so key order and white space do not matter."""
    digest = hashlib.sha256()
    for event in events:
        payload = canonical(event)
        digest.update(len(payload).to_bytes(8, "big"))
        digest.update(payload)
    digest.update(encode(sorted(expected.items())))
    return digest.digest()


def with_derived_ids(
    events: Sequence[AnyEvent], *, token_id: str, key: str, fingerprint: bytes
) -> list[AnyEvent]:
    """The events, each without an id given one derived from the keyed request."""
    return [
        event
        if event.id is not None
        else with_id(
            event, uuid.uuid5(_ID_NAMESPACE, f"{token_id}\x1f{key}\x1f{fingerprint.hex()}\x1f{i}")
        )
        for i, event in enumerate(events)
    ]


class IdempotencyKeys:
    """The keys table (migration 0011). Stateless: one per request is fine."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, token_id: str, key: str, fingerprint: bytes) -> Answer | None:
        """The answer to replay, or None: go ahead (first use, or an earlier attempt left no
        answer). Raises KeyReused if the key was used for another request."""
        async with self._pool.acquire() as conn:
            claimed = await conn.fetchval(_CLAIM, token_id, key, fingerprint, RETENTION)
            if claimed:
                await conn.execute(_PURGE, RETENTION)
                return None
            row = await conn.fetchrow(_LOOKUP, token_id, key)
        if row is None:  # purged between the two statements: treat as new
            return await self.claim(token_id, key, fingerprint)
        if bytes(row["fingerprint"]) != fingerprint:
            raise KeyReused(
                "this Idempotency-Key was used for a request with another body",
                field="Idempotency-Key",
            )
        if row["response"] is None:
            return None
        return Answer(status=row["status"], body=bytes(row["response"]))

    async def record(self, token_id: str, key: str, fingerprint: bytes, answer: Answer) -> Answer:
        """Keep the answer; return the answer to give (the first one recorded, if attempts
        overlapped)."""
        async with self._pool.acquire() as conn:
            updated = await conn.execute(
                _RECORD, token_id, key, fingerprint, answer.status, answer.body
            )
            if updated.endswith(" 1"):
                return answer
            row = await conn.fetchrow(_LOOKUP, token_id, key)
        if row is None or row["response"] is None or bytes(row["fingerprint"]) != fingerprint:
            return answer
        return Answer(status=row["status"], body=bytes(row["response"]))
