"""Rebuild the read models from the log beside the live ones, and swap them in."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg

from projections import fact_of
from projections.rows import Folding
from service.eventlog.store import LOG_SIZE, recorded_from_row
from service.readmodels import search, sql
from service.readmodels.sql import PAGE, PROJECTION_VERSION, PROJECTOR_LOCK_KEY

Progress = Callable[[int, int], None]


async def rebuild(pool: asyncpg.Pool, *, progress: Progress | None = None) -> int:
    """Build the read models afresh from the log beside the live ones, then swap them in.

    Readers keep using the live generation until the flip, which happens in one transaction
    with the catch-up of whatever was appended meanwhile. Returns the new generation.

    An event that cannot be decoded, and an entity whose fold fails, are set aside (in
    `rm_quarantine` of the new generation, as the projector does) and the rest is built.
    """
    live = await pool.fetchval(sql.LIVE)
    generation = live + 1
    folding = Folding(generation, isolate=True)
    # Leftovers of a rebuild that died before its flip.
    await pool.execute(sql.CLEAR_ITEMS, generation)
    await pool.execute(sql.CLEAR_ENTITIES, generation)
    await pool.execute(sql.CLEAR_QUARANTINE, generation)
    await search.clear(pool, generation)
    total = await pool.fetchval(LOG_SIZE)

    def feed(rows: Sequence[asyncpg.Record]) -> None:
        for r in rows:
            try:
                fact = fact_of(recorded_from_row(r))
            except Exception as exc:  # an undecodable event sets its entity aside
                folding.set_aside(r["entity"], r["position"], exc)
                folding.position = r["position"]
                continue
            folding.feed(fact)

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
            await search.write_names(conn, folding)
            if folding.failed:
                failed = sorted(folding.failed)
                await conn.execute(sql.DROP_ITEMS_OF, generation, failed)
                for entity in failed:
                    position, error = folding.failed[entity]
                    error = error.replace("\x00", "\\x00")[:1000]
                    await conn.execute(sql.QUARANTINE, generation, entity, position, error)
            await conn.execute(sql.FLIP, generation, folding.position, PROJECTION_VERSION)
        if progress is not None:
            progress(folding.position, max(total, folding.position))
        await conn.execute(sql.DROP_OTHER_ITEMS, generation)
        await conn.execute(sql.DROP_OTHER_ENTITIES, generation)
        await conn.execute(sql.DROP_OTHER_QUARANTINE, generation)
        await search.drop_other(conn, generation)
    return generation
