"""Rebuild the read models from the log beside the live ones, and swap them in.

The log is folded in entity partitions, never whole: the entities that have rows up to the
log's head (every stream, and every company a rule names) are split by a stable hash of their
id, and each partition reads only its entities' facts (their own streams and the streams of the
rules that name them: the projector's own query) and folds them with the projector's `Folding`.
So the memory a partition needs is about its share of the log, and the number of partitions
grows with the log instead. Partitions are folded in worker processes, and each one's rows are
written, with a note that it is done, in one transaction: a rebuild killed half way and started
again folds only the partitions not yet written. Then what was appended meanwhile is folded in
as the projector would, and the new generation is swapped in, under the projector's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import asyncpg

from events import RecordedEvent
from projections import fact_of
from projections.facts import Fact
from projections.rows import Folding, subjects_of
from service.eventlog.store import LOG_SIZE, recorded_from_row
from service.readmodels import search, sql
from service.readmodels.folded import fold_page
from service.readmodels.sql import PAGE, PROJECTION_VERSION, PROJECTOR_LOCK_KEY

Progress = Callable[[int, int], None]

PARTITION_EVENTS = 2_500
"""About how many events of the log one partition folds: the rebuild's memory per worker. A
partition of 20,000 events took a worker about 230 MB above its imports; with 5,000, the
rebuild and two workers peaked at 416 MiB at 100k events and 485 MiB at 1M (a partition
there also reads the streams of more rules). Smaller partitions cost a query and a COPY each,
and re-read the streams of rules that name companies in several partitions."""

_Row = tuple
"""An event row as `sql.FACTS_OF` reads it (the columns of `SELECT_RECORDED`), as a tuple."""


@dataclass
class PartitionRows:
    """What folding one partition gives: rows to COPY and the entities set aside."""

    items: list[tuple] = field(default_factory=list)
    entities: list[tuple] = field(default_factory=list)
    names: list[tuple] = field(default_factory=list)
    name_keys: list[tuple] = field(default_factory=list)
    failed: dict[str, tuple[int, str]] = field(default_factory=dict)


def partition_of(entity: str, partitions: int) -> int:
    """The partition an entity is folded in: a hash stable across processes and runs."""
    return zlib.crc32(entity.encode()) % partitions


def fold_partition(generation: int, entities: Sequence[str], rows: Iterable[_Row]) -> PartitionRows:
    """Fold the facts of a partition (its entities' streams and the streams of the rules that
    name them, in log order) into its entities' rows. Pure; run in a worker process.

    An event that cannot be decoded sets its entity aside, as does an entity whose fold fails.
    """
    folding = Folding(generation, only=set(entities), isolate=True)
    with _no_collections():
        for row in rows:
            try:
                fact = fact_of(RecordedEvent(**dict(zip(_COLUMNS, row, strict=True))))
            except Exception as exc:  # an undecodable event sets its entity aside
                folding.set_aside(row[2], row[0], exc)
                continue
            folding.feed(fact)
        folding.flush()
    return PartitionRows(
        items=folding.closed + folding.open_rows(),
        entities=folding.record_rows(),
        names=folding.name_rows(),
        name_keys=folding.name_key_rows(),
        failed=dict(folding.failed),
    )


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """The cyclic collector, off while a partition is folded. The fold keeps every entity's
    facts and folded states alive (hundreds of thousands of containers), and each collection
    walks them again; yet it makes almost no cycles for a collection to find (a worker's whole
    life, imports included, collects some 700 objects over a 20,000-event partition), so the
    collections were a fifth or more of the fold's CPU for nothing. Reference counting still
    frees everything else as it goes; the collector runs again once the partition is folded."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_COLUMNS = (
    "position",
    "type",
    "entity",
    "recorded_at",
    "schema_version",
    "prev_hash",
    "hash",
    "payload",
)


async def rebuild(
    pool: asyncpg.Pool,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    partition_events: int = PARTITION_EVENTS,
) -> int:
    """Build the read models afresh from the log beside the live ones, then swap them in.

    Readers keep using the live generation until the flip, which happens in one transaction
    with the catch-up of whatever was appended meanwhile. Returns the new generation.

    `workers`: processes folding partitions (None: the machine's cores; 1: in this process).
    An event that cannot be decoded, and an entity whose fold fails, are set aside (in
    `rm_quarantine` of the new generation, as the projector does) and the rest is built.
    """
    workers = workers or os.cpu_count() or 1
    live = await pool.fetchval(sql.LIVE)
    generation = live + 1
    async with pool.acquire() as conn:
        partitions, upto, done = await _resume_or_start(conn, generation, workers, partition_events)
        entities = [r["entity"] for r in await conn.fetch(sql.ENTITIES_UPTO, upto)]
        members: dict[int, list[str]] = defaultdict(list)
        for entity in sorted(entities):
            members[partition_of(entity, partitions)].append(entity)
        todo = [p for p in range(partitions) if p not in done]

        def report() -> None:
            if progress is not None:
                progress(upto * len(done) // partitions, upto)

        report()
        executor: Executor | None = None
        if workers > 1 and len(todo) > 1:
            executor = ProcessPoolExecutor(max_workers=min(workers, len(todo)))
        try:
            running: dict[asyncio.Future[PartitionRows], int] = {}
            for partition in todo:
                rows = [tuple(r) for r in await conn.fetch(sql.FACTS_OF, members[partition], upto)]
                if executor is None or not rows:
                    result = fold_partition(generation, members[partition], rows)
                    await _write_partition(conn, generation, partitions, upto, partition, result)
                    done.add(partition)
                    report()
                    continue
                future = asyncio.get_running_loop().run_in_executor(
                    executor, fold_partition, generation, members[partition], rows
                )
                del rows
                running[future] = partition
                # One partition more than there are workers is in flight, so a worker that
                # finishes finds the next one waiting while its rows are written.
                while len(running) > workers:
                    await _write_finished(conn, generation, partitions, upto, running, done)
                    report()
            while running:
                await _write_finished(conn, generation, partitions, upto, running, done)
                report()
        finally:
            if executor is not None:
                executor.shutdown(cancel_futures=True)

        # What was appended meanwhile, then again and the flip under the projector's lock (the
        # live projector waits meanwhile).
        position = await _catch_up(conn, generation, upto)
        async with conn.transaction():
            await conn.execute(sql.LOCK, PROJECTOR_LOCK_KEY)
            position = await _catch_up(conn, generation, position)
            await conn.execute(sql.FLIP, generation, position, PROJECTION_VERSION)
            await conn.execute(sql.CLEAR_REBUILD_PARTITIONS, generation)
        if progress is not None:
            progress(position, position)
        await conn.execute(sql.DROP_OTHER_ITEMS, generation)
        await conn.execute(sql.DROP_OTHER_ENTITIES, generation)
        await conn.execute(sql.DROP_OTHER_QUARANTINE, generation)
        await search.drop_other(conn, generation)
        await conn.execute(sql.ANALYZE)
    return generation


async def _resume_or_start(
    conn: asyncpg.Connection, generation: int, workers: int, partition_events: int
) -> tuple[int, int, set[int]]:
    """(partitions, log position to build up to, partitions already written) of the rebuild
    of `generation`: those of one that was killed, else of a new one (leftovers cleared)."""
    found = await conn.fetchrow(sql.REBUILD_PARTITIONS, generation)
    if found is not None:
        return found["partitions"], found["upto"], set(found["done"])
    await conn.execute(sql.CLEAR_ITEMS, generation)
    await conn.execute(sql.CLEAR_ENTITIES, generation)
    await conn.execute(sql.CLEAR_QUARANTINE, generation)
    await search.clear(conn, generation)
    upto = await conn.fetchval(LOG_SIZE)
    events = await conn.fetchval(sql.EVENT_COUNT, upto)
    partitions = math.ceil(events / partition_events)
    return (max(workers, partitions) if partitions > 1 else 1), upto, set()


async def _write_finished(
    conn: asyncpg.Connection,
    generation: int,
    partitions: int,
    upto: int,
    running: dict[asyncio.Future[PartitionRows], int],
    done: set[int],
) -> None:
    finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    for future in finished:
        partition = running.pop(future)
        await _write_partition(conn, generation, partitions, upto, partition, future.result())
        done.add(partition)


async def _write_partition(
    conn: asyncpg.Connection,
    generation: int,
    partitions: int,
    upto: int,
    partition: int,
    result: PartitionRows,
) -> None:
    async with conn.transaction():
        if result.items:
            await conn.copy_records_to_table(
                "rm_items", records=result.items, columns=sql.ITEM_COLUMNS
            )
        if result.entities:
            await conn.copy_records_to_table(
                "rm_entities", records=result.entities, columns=sql.ENTITY_COLUMNS
            )
        if result.names:
            await conn.copy_records_to_table(
                "rm_entity_names", records=result.names, columns=search.NAME_COLUMNS
            )
        await search.write_keys(conn, generation, result.name_keys)
        await _quarantine(conn, generation, result.failed)
        await conn.execute(sql.REBUILD_PARTITION_DONE, generation, partitions, upto, partition)


async def _quarantine(
    conn: asyncpg.Connection, generation: int, failed: dict[str, tuple[int, str]]
) -> None:
    if not failed:
        return
    await conn.execute(sql.DROP_ITEMS_OF, generation, sorted(failed))
    for entity in sorted(failed):
        position, error = failed[entity]
        error = error.replace("\x00", "\\x00")[:1000]
        await conn.execute(sql.QUARANTINE, generation, entity, position, error)


async def _catch_up(conn: asyncpg.Connection, generation: int, position: int) -> int:
    """Fold what the log holds after `position` into `generation`, a page at a time, as the
    projector does (the touched entities' facts, and their current rows); return the position
    reached."""
    while True:
        rows = list(await conn.fetch(sql.EVENTS_AFTER, position, PAGE))
        if not rows:
            return position
        if len(rows) == PAGE:  # never split an append transaction
            last = recorded_from_row(rows[-1])
            rows.extend(await conn.fetch(sql.REST_OF_GROUP, last.position, last.recorded_at))
        upto = rows[-1]["position"]
        held = {r["entity"] for r in await conn.fetch(sql.QUARANTINED, generation)}
        facts: list[Fact] = []
        failed: dict[str, tuple[int, str]] = {}
        for row in rows:
            try:
                facts.append(fact_of(recorded_from_row(row)))
            except Exception as exc:
                failed.setdefault(row["entity"], (row["position"], f"{type(exc).__name__}: {exc}"))
        direct, subjects = subjects_of(facts)
        targets = await conn.fetch(sql.TARGETS_OF_RULES, sorted(subjects), upto)
        affected = (direct | {r["ref"] for r in targets}) - held - failed.keys()
        entities = sorted(affected)
        history = [
            fact_of(recorded_from_row(row))
            for row in await conn.fetch(sql.FACTS_OF, entities, position)
        ]
        folding = Folding(generation, only=affected, isolate=True)
        await fold_page(conn, folding, entities, history, facts)
        await _quarantine(conn, generation, {**folding.failed, **failed})
        position = upto
