"""Folding a page of the log into the stored read-model rows: the step the projector takes
after each page it reads, and the rebuild's catch-up takes after the bulk fold (both in one
transaction of theirs). The fold itself is pure (`projections.rows.Folding`); this module
feeds it what is stored and writes what it gives back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import asyncpg

from projections.facts import Fact
from projections.rows import Folding, Rows
from service.readmodels import search, sql


def rows_of_db(rows: Iterable[asyncpg.Record]) -> Rows:
    """Stored `rm_items` rows in the shape `Folding.stored` compares with."""
    return tuple(
        sorted(
            (r["aspect"], r["key"], r["valid_from"], r["valid_to"], r["present"], bytes(r["body"]))
            for r in rows
        )
    )


async def fold_page(
    conn: asyncpg.Connection,
    folding: Folding,
    affected: Sequence[str],
    history: Iterable[Fact],
    facts: Iterable[Fact],
) -> int:
    """Fold `facts` (a page of the log) into the rows of the entities `folding` is restricted
    to, given their facts from before the page (`history`, those `folding.memory` lacks) and
    their current rows in `folding`'s generation (read here for the `affected` entities: those
    whose rows `folding` does not hold yet); close the rows it replaces, write the rows, entity
    records and names it makes. Returns the number of item rows written."""
    generation = folding.generation
    for fact in history:
        folding.memory.add(fact)
    stored: dict[str, list[asyncpg.Record]] = defaultdict(list)
    if affected:
        for row in await conn.fetch(sql.CURRENT_ROWS_OF, generation, affected):
            stored[row["entity"]].append(row)
    for entity, found in stored.items():
        folding.stored(entity, rows_of_db(found))
    for fact in facts:
        folding.feed(fact)
    folding.flush()
    if folding.db_closes:
        await conn.execute(
            sql.CLOSE_ROWS_OF, generation, *map(list, zip(*folding.db_closes, strict=True))
        )
    items = folding.closed + folding.open_rows()
    if items:
        await conn.copy_records_to_table("rm_items", records=items, columns=sql.ITEM_COLUMNS)
    records = folding.record_rows()
    if records:
        await conn.execute(sql.UPSERT_ENTITIES, *map(list, zip(*records, strict=True)))
    await search.replace_names(conn, generation, folding)
    return len(items)
