"""Rebuild the read models from the log beside the live ones, and swap them in."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg

from projections import fact_of
from projections.rows import Folding
from service.eventlog.store import LOG_SIZE, recorded_from_row
from service.readmodels import sql
from service.readmodels.sql import PAGE, PROJECTION_VERSION, PROJECTOR_LOCK_KEY

Progress = Callable[[int, int], None]


async def rebuild(pool: asyncpg.Pool, *, progress: Progress | None = None) -> int:
    """Build the read models afresh from the log beside the live ones, then swap them in.

    Readers keep using the live generation until the flip, which happens in one transaction
    with the catch-up of whatever was appended meanwhile. Returns the new generation.
    """
    live = await pool.fetchval(sql.LIVE)
    generation = live + 1
    folding = Folding(generation)
    # Leftovers of a rebuild that died before its flip.
    await pool.execute(sql.CLEAR_ITEMS, generation)
    await pool.execute(sql.CLEAR_ENTITIES, generation)
    total = await pool.fetchval(LOG_SIZE)

    def feed(rows: Sequence[asyncpg.Record]) -> None:
        for r in rows:
            folding.feed(fact_of(recorded_from_row(r)))

    async with pool.acquire() as conn:
        while True:
            rows = await conn.fetch(sql.EVENTS_AFTER, folding.position, PAGE)
            if not rows:
                break
            feed(rows)
            if progress is not None:
                progress(folding.position, max(total, folding.position))
            if len(folding.closed) > 20_000:
                await conn.copy_records_to_table(
                    "rm_items", records=folding.closed, columns=sql.ITEM_COLUMNS
                )
                folding.closed.clear()
        # Catch up and flip under the projector's lock: the live projector waits meanwhile.
        async with conn.transaction():
            await conn.execute(sql.LOCK, PROJECTOR_LOCK_KEY)
            while True:
                rows = await conn.fetch(sql.EVENTS_AFTER, folding.position, PAGE)
                if not rows:
                    break
                feed(rows)
            folding.flush()
            records = folding.closed + folding.open_rows()
            if records:
                await conn.copy_records_to_table(
                    "rm_items", records=records, columns=sql.ITEM_COLUMNS
                )
            entity_rows = folding.record_rows()
            if entity_rows:
                await conn.copy_records_to_table(
                    "rm_entities", records=entity_rows, columns=sql.ENTITY_COLUMNS
                )
            await conn.execute(sql.FLIP, generation, folding.position, PROJECTION_VERSION)
        if progress is not None:
            progress(folding.position, max(total, folding.position))
        await conn.execute(sql.DROP_OTHER_ITEMS, generation)
        await conn.execute(sql.DROP_OTHER_ENTITIES, generation)
    return generation
