"""Read models in PostgreSQL for cross-entity questions, and the projector that keeps them.

What is stored (see migrations/0004_read_models.sql): per entity and item, the world-time
segments of `projections.segments`, stamped with the transaction-time range over which they were
the log's knowledge. Each append transaction (one `recorded_at`) that touches an entity gives it
a new version: those of its current rows that no longer hold are closed at that `recorded_at`
and the new ones open there (rows that still hold stay open, with their own `recorded_from`).
So an answer at (D, K) is an indexed lookup, and equals the pure fold by construction.

The projector and the rebuild share one core (`Folding`): the incremental projector feeds it the
facts it reads for the touched entities; the rebuild feeds it one entity partition at a time. Both
process the log one `recorded_at` group at a time, so they write the same rows byte for byte.

The projector keeps its folding from one page to the next (`Kept`): the facts it has read, and
per recently touched entity its segmentation and current rows. A page then reads the history and
stored rows of the entities it has not kept only, and folds a kept entity on from where the last
page left it, so its cost follows the page's facts, not the entities' histories.

Rows and checkpoint are written in one transaction, under a transaction-scoped advisory lock, so
several processes may run the projector: one works at a time, none repeats another's work.
Positions are safe to follow: appends are serialised (see store.py), so no event commits
behind the checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

import asyncpg

from projections import fact_of
from projections.facts import Fact
from projections.rows import Folding, subjects_of
from service.eventlog.store import CONNECTION_ERRORS, recorded_from_row
from service.eventlog.watch import FOLLOW_PACE, Paced
from service.readmodels import sql
from service.readmodels.folded import fold_page
from service.readmodels.rebuild import Progress
from service.readmodels.rebuild import rebuild as rebuild_read_models
from service.readmodels.sql import PAGE, PROJECTION_VERSION, PROJECTOR_LOCK_KEY

log = logging.getLogger("timeline.readmodels")

TRANSIENT_ERRORS = (
    *CONNECTION_ERRORS,
    asyncpg.QueryCanceledError,  # a statement timeout
    asyncpg.TransactionRollbackError,  # a deadlock or serialization failure
    asyncpg.InsufficientResourcesError,  # disk full, out of memory
    asyncpg.OperatorInterventionError,
)
"""Failures of the database, not of the events: the page is retried as it is, later."""


def error_text(error: BaseException) -> str:
    """The error as text PostgreSQL can store (no NUL), at most 1000 characters."""
    return f"{type(error).__name__}: {error}".replace("\x00", "\\x00")[:1000]


async def set_aside(pool: asyncpg.Pool) -> list[tuple[str, int, str]]:
    """(entity, position, error) of every entity the live read models have set aside."""
    return [
        (r["entity"], r["position"], r["error"]) for r in await pool.fetch(sql.QUARANTINED_LIVE)
    ]


def first_of(entity: str, facts: Iterable[Fact]) -> int:
    """Position of the first of `facts` that may change `entity` (else the last one's)."""
    last = 0
    for fact in facts:
        last = fact.position
        direct, _ = subjects_of((fact,))
        if entity in direct:
            return fact.position
    return last


class Kept:
    """The fold a projector keeps between pages, valid only where the next page starts from the
    very state it was left in: the same live generation, at the same checkpoint.

    `folding` holds every fact it was given (`memory`) and, for each entity of `entities`, its
    segmentation and current rows as stored by the last page that touched it. Each entity of
    `entities` has all its facts up to `checkpoint` in `memory` (its own stream and the streams
    of the rules that name it: what `sql.FACTS_OF` reads), and every later page's facts too.
    """

    def __init__(self, live: int, checkpoint: int) -> None:
        self.live = live
        self.checkpoint = checkpoint
        self.folding = Folding(live)
        self.entities: OrderedDict[str, None] = OrderedDict()
        """The entities whose fold is kept, the least recently folded first."""

    def holds(self, live: int, checkpoint: int) -> bool:
        return self.live == live and self.checkpoint == checkpoint

    def folded(self, entities: Iterable[str], upto: int) -> None:
        """The page up to `upto` that folded `entities` is committed."""
        self.folding.written()
        for entity in entities:
            self.entities[entity] = None
            self.entities.move_to_end(entity)
        self.checkpoint = upto

    def evict(self, entities: int) -> None:
        """Forget the least recently folded entities beyond the `entities` most recent."""
        while len(self.entities) > entities:
            entity, _ = self.entities.popitem(last=False)
            self.folding.forget(entity)


class Projector:
    """Keeps the read models current, a page of append transactions at a time.

    Per page: one query for the entities it touches (the targets of rules whose stream moved);
    for those of them whose fold it has not kept (`Kept`), one for their facts up to the
    checkpoint and one for their current rows; then the groups are folded in memory exactly as
    the rebuild folds them, and written with one UPDATE (closing the replaced rows), one COPY and
    one upsert, with the checkpoint, in one transaction.

    The fold is kept for the `keep_entities` entities folded most recently, and as long as it
    holds at most `keep_facts` facts (past that it is dropped whole, and the next page starts
    afresh). It is dropped too when a page fails, or when the page does not start where the last
    one ended (another projector moved the checkpoint, or a rebuild swapped the generation).

    Decoded facts are kept by position (the log never changes below the checkpoint), up to
    `FACT_CACHE` of them, so a rule's long stream is not decoded again for every page.
    """

    FACT_CACHE = 200_000
    ANALYZE_AFTER = 5_000
    KEEP_ENTITIES = 5_000
    KEEP_FACTS = 100_000

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        keep_entities: int = KEEP_ENTITIES,
        keep_facts: int = KEEP_FACTS,
    ) -> None:
        self._pool = pool
        self._facts: dict[int, Fact] = {}
        self._written = 0
        self._analyze_at = self.ANALYZE_AFTER
        self._keep_entities = keep_entities
        self._keep_facts = keep_facts
        self._kept: Kept | None = None
        self.set_aside = 0
        """Entities this projector has set aside (rm_quarantine) since it started."""

    async def checkpoint(self) -> int:
        return await self._pool.fetchval(sql.CHECKPOINT)

    async def catch_up(self) -> int:
        """Project everything committed so far; return the checkpoint."""
        while True:
            done, position = await self.step()
            await self._keep_statistics()
            if done:
                return position

    async def _keep_statistics(self) -> None:
        """ANALYZE the read model each time this projector has doubled it (from a few thousand
        rows). A model growing fast from empty outruns autovacuum; with statistics that say it
        holds a handful of rows the planner reads every current row per page, not those of the
        page's entities, and projection time grows with the square of the log."""
        if self._written >= self._analyze_at:
            await self._pool.execute(sql.ANALYZE)
            self._analyze_at = 2 * self._written

    def _fact(self, row: asyncpg.Record) -> Fact:
        position = row["position"]
        fact = self._facts.get(position)
        if fact is None:
            if len(self._facts) >= self.FACT_CACHE:
                self._facts.clear()
            fact = self._facts[position] = fact_of(recorded_from_row(row))
        return fact

    async def step(self, page: int = PAGE) -> tuple[bool, int]:
        """Project one page of the log in one transaction. (caught up?, checkpoint).

        If the page fails for any reason but the database being unreachable or busy, it is
        projected again entity by entity (`_step(isolate=True)`): an entity that still fails
        is set aside in `rm_quarantine` with the position and the error, and every other one
        advances. One poison event never stops the read side."""
        try:
            return await self._step(page, isolate=False)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            log.warning("projector: a page failed (%s); projecting it entity by entity", exc)
            return await self._step(page, isolate=True)

    async def _step(self, page: int, *, isolate: bool) -> tuple[bool, int]:
        kept, self._kept = self._kept, None  # given back once the page is committed
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(sql.LOCK, PROJECTOR_LOCK_KEY)
            live, checkpoint, _version = await conn.fetchrow(sql.STATE)
            if kept is not None and not kept.holds(live, checkpoint):
                kept = None
            rows = list(await conn.fetch(sql.EVENTS_AFTER, checkpoint, page))
            if not rows:
                self._kept = kept
                return True, checkpoint
            if len(rows) == page:  # never split an append transaction across two steps
                last = recorded_from_row(rows[-1])
                rows.extend(await conn.fetch(sql.REST_OF_GROUP, last.position, last.recorded_at))
            upto = rows[-1]["position"]
            held = {r["entity"] for r in await conn.fetch(sql.QUARANTINED, live)}
            facts: list[Fact] = []
            for row in rows:
                try:
                    facts.append(self._fact(row))
                except Exception as exc:
                    if not isolate:
                        raise
                    await self._set_aside(conn, live, row["entity"], row["position"], exc)
                    held.add(row["entity"])
            direct, subjects = subjects_of(facts)
            targets = await conn.fetch(sql.TARGETS_OF_RULES, sorted(subjects), upto)
            affected = sorted((direct | {r["ref"] for r in targets}) - held)
            if not isolate:
                if kept is None and self._keep_entities > 0:
                    kept = Kept(live, checkpoint)
                await self._project(conn, live, checkpoint, affected, facts, kept)
            else:
                kept = None  # each entity is folded afresh, on its own
                for entity in affected:
                    try:
                        async with conn.transaction():  # a savepoint: one entity's writes
                            await self._project(conn, live, checkpoint, [entity], facts, None)
                    except TRANSIENT_ERRORS:
                        raise
                    except Exception as exc:
                        await self._set_aside(conn, live, entity, first_of(entity, facts), exc)
            await conn.execute(sql.SET_POSITION, upto)
        if kept is not None and len(kept.folding.memory) <= self._keep_facts:
            kept.folded(affected, upto)
            kept.evict(self._keep_entities)
            self._kept = kept
        return len(rows) < page, upto

    async def _project(
        self,
        conn: asyncpg.Connection,
        live: int,
        checkpoint: int,
        affected: list[str],
        facts: list[Fact],
        kept: Kept | None,
    ) -> None:
        """Fold `facts` (a page) into the rows of `affected`, and write them: with the fold
        `kept` from the pages before (reading the history and stored rows only of the entities
        it has not kept), else afresh."""
        if kept is None:
            folding, unknown = Folding(live), affected
        else:
            folding = kept.folding
            unknown = [entity for entity in affected if entity not in kept.entities]
        folding.only = set(affected)
        history: list[Fact] = []
        if unknown:
            for row in await conn.fetch(sql.FACTS_OF, unknown, checkpoint):
                if row["position"] not in folding.memory:
                    history.append(self._fact(row))
        self._written += await fold_page(conn, folding, unknown, history, facts)

    async def _set_aside(
        self, conn: asyncpg.Connection, live: int, entity: str, position: int, error: Exception
    ) -> None:
        text = error_text(error)
        log.error(
            "projector: entity %s set aside at position %d: %s",
            entity,
            position,
            text,
            extra={"entity": entity, "position": position},
        )
        await conn.execute(sql.QUARANTINE, live, entity, position, text)
        self.set_aside += 1

    async def run(
        self,
        wake: Callable[[int, float], Awaitable[object]],
        *,
        on_progress: Callable[[int], None] | None = None,
        on_set_aside: Callable[[int], None] | None = None,
        poll: float = 1.0,
        pace: float = FOLLOW_PACE,
    ) -> None:
        """Forever: catch up, then wait until the log passes the checkpoint (or `poll` s).
        `on_set_aside`: told how many entities are set aside, at start and when that changes.
        `pace`: while appends keep coming, catch up at most once per `pace` seconds (`Paced`),
        so a page folds the append transactions of that time together, not one at a time."""
        wake = Paced(wake, pace).wait_beyond
        reported = -1
        while True:
            try:
                await self.ensure_version()
                position = await self.catch_up()
                if on_set_aside is not None and reported != self.set_aside:
                    on_set_aside(len(await set_aside(self._pool)))
                    reported = self.set_aside
            except asyncio.CancelledError:
                raise
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("projector paused: %s", exc)
                await asyncio.sleep(poll)
                continue
            if on_progress is not None:
                on_progress(position)
            await wake(position, poll)

    async def ensure_version(self, progress: Progress | None = None) -> bool:
        """Rebuild when the stored projection version is not this code's. True if rebuilt."""
        version = await self._pool.fetchval(sql.VERSION)
        if version == PROJECTION_VERSION:
            return False
        await rebuild_read_models(self._pool, progress=progress)
        return True
