"""Plant an event the projector cannot decode, directly in the log (as the table owner,
bypassing the API and the store): what a bug in an old writer or a hand-made row could leave."""

from __future__ import annotations

import uuid

import asyncpg

from events import chain_hash

_HEAD = "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
_PLANT = """
INSERT INTO events (position, id, entity, type, schema_version, occurred, occurred_start,
                    occurred_end, precision, recorded_at, payload, prev_hash, hash)
VALUES ($1, $2, $3, 'EntityListed', 1, '2023', '2023-01-01', '2024-01-01', 'year',
        clock_timestamp(), $4, $5, $6)
RETURNING position
"""


async def plant_poison(pool: asyncpg.Pool, entity: str, payload: bytes = b"{not json") -> int:
    """Append one undecodable event of `entity` at the log's head; return its position."""
    async with pool.acquire() as conn, conn.transaction():
        head = await conn.fetchrow(_HEAD)
        position = head["position"] + 1
        # The chain stays linked (the trigger checks prev_hash); the hash covers the bytes.
        digest = chain_hash(
            head["hash"],
            payload=payload,
            position=position,
            recorded_at=head["recorded_at"],
            schema_version=1,
        )
        return await conn.fetchval(
            _PLANT, position, uuid.uuid4(), entity, payload, head["hash"], digest
        )
