"""Read models in PostgreSQL for cross-entity questions, and the projector that keeps them.

What is stored (see migrations/0004_read_models.sql): per entity and item, the world-time
segments of `projections.segments`, stamped with the transaction-time range over which they were
the log's knowledge. Each append transaction (one `recorded_at`) that touches an entity gives it
a new version: those of its current rows that no longer hold are closed at that `recorded_at`
and the new ones open there (rows that still hold stay open, with their own `recorded_from`).
So an answer at (D, K) is an indexed lookup, and equals the pure fold by construction.

The projector and the rebuild share one core (`_Folding`): the incremental projector feeds it the
facts it reads for the touched entities; the rebuild feeds it the whole log in memory. Both
process the log one `recorded_at` group at a time, so they write the same rows byte for byte.

Rows and checkpoint are written in one transaction, under a transaction-scoped advisory lock, so
several processes may run the projector: one works at a time, none repeats another's work.
Positions are safe to follow: appends are serialised (see store.py), so no event commits
behind the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import unicodedata
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg
import msgspec

from events import EntityRegistered, RuleIssued
from projections import (
    Change,
    EntityState,
    Exit,
    Listing,
    Member,
    Product,
    RuleInForce,
    effective,
    fact_of,
    state_as_of,
)
from projections.facts import Fact
from projections.queries import diff_items
from projections.segments import OPEN_END, Segment, segments
from service.store import CONNECTION_ERRORS, SELECT_RECORDED, recorded_from_row

PROJECTION_VERSION = 2  # 2: only changed rows are closed and reopened
PROJECTOR_LOCK_KEY = 0x726D_5F70_726F_6A  # "rm_proj"
PAGE = 2000

log = logging.getLogger("timeline.readmodels")

Progress = Callable[[int, int], None]

_ITEM_TYPES: dict[str, type[msgspec.Struct]] = {
    "listing": Listing,
    "rule": RuleInForce,
    "product": Product,
    "exit": Exit,
}
_NOW_DAY = OPEN_END - _dt.timedelta(days=1)

# ------------------------------------------------------------------------------------ SQL

_LOCK = "SELECT pg_advisory_xact_lock($1)"
_STATE = "SELECT live, position, version FROM rm_state"
_SET_POSITION = "UPDATE rm_state SET position = $1"
_FLIP = "UPDATE rm_state SET live = $1, position = $2, version = $3"
_HEAD = "SELECT coalesce(max(position), 0) FROM events"
_EVENTS_AFTER = f"{SELECT_RECORDED} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
_REST_OF_GROUP = (
    f"{SELECT_RECORDED} FROM events WHERE position > $1 AND recorded_at = $2 ORDER BY position"
)
# Built once from constants; values are always $n parameters. The entities' own streams and
# the streams of every rule that names one of them, up to the checkpoint $2.
_FACTS_OF = f"""
{SELECT_RECORDED} FROM events
WHERE position <= $2
  AND entity = ANY($1::text[] || ARRAY(
        SELECT DISTINCT e.entity FROM event_refs r JOIN events e ON e.position = r.position
        WHERE r.ref = ANY($1::text[]) AND r.position <= $2 AND e.type = 'RuleIssued'
  ))
ORDER BY position
"""  # noqa: S608
_TARGETS_OF_RULES = """
SELECT DISTINCT r.ref FROM event_refs r JOIN events e ON e.position = r.position
WHERE e.entity = ANY($1::text[]) AND e.type = 'RuleIssued' AND r.position <= $2
  AND r.field LIKE 'targets%'
"""
_CURRENT_ROWS_OF = """
SELECT entity, aspect, key, valid_from, valid_to, present, body FROM rm_items
WHERE generation = $1 AND entity = ANY($2::text[]) AND recorded_to = 'infinity'
"""
# A current row is identified by (entity, aspect, key, valid_from): an item's segments do
# not overlap in world time.
_CLOSE_ROWS_OF = """
UPDATE rm_items AS i SET recorded_to = c.recorded_to
FROM unnest($2::text[], $3::text[], $4::text[], $5::date[], $6::timestamptz[])
    AS c (entity, aspect, key, valid_from, recorded_to)
WHERE i.generation = $1 AND i.entity = c.entity AND i.aspect = c.aspect AND i.key = c.key
  AND i.valid_from = c.valid_from AND i.recorded_to = 'infinity'
"""
_UPSERT_ENTITIES = """
INSERT INTO rm_entities (generation, entity, kind, country, names, aliases, search)
SELECT * FROM unnest(
    $1::integer[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::text[]
)
ON CONFLICT (generation, entity) DO UPDATE SET
    kind = excluded.kind, country = excluded.country, names = excluded.names,
    aliases = excluded.aliases, search = excluded.search
"""
_ITEM_COLUMNS = (
    "generation",
    "entity",
    "aspect",
    "key",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "present",
    "body",
)
_ENTITY_COLUMNS = ("generation", "entity", "kind", "country", "names", "aliases", "search")
_DROP_OTHER_ITEMS = "DELETE FROM rm_items WHERE generation <> $1"
_DROP_OTHER_ENTITIES = "DELETE FROM rm_entities WHERE generation <> $1"
_CLEAR_ITEMS = "DELETE FROM rm_items WHERE generation = $1"
_CLEAR_ENTITIES = "DELETE FROM rm_entities WHERE generation = $1"

_MEMBERS_NOW = """
SELECT entity, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND aspect = 'listing' AND key = $1
  AND recorded_to = 'infinity' AND present AND valid_from <= $2 AND $2 < valid_to
ORDER BY entity
"""
_MEMBERS_AT = """
SELECT entity, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND aspect = 'listing' AND key = $1
  AND recorded_to > $3 AND recorded_from <= $3 AND valid_from <= $2 AND $2 < valid_to
  AND present
ORDER BY entity
"""
_ITEMS_ON_NOW = """
SELECT entity, aspect, key, present, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state)
  AND recorded_to = 'infinity' AND valid_from <= $1 AND $1 < valid_to
"""
_ITEMS_ON_AT = """
SELECT entity, aspect, key, present, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state)
  AND recorded_to > $2 AND recorded_from <= $2 AND valid_from <= $1 AND $1 < valid_to
"""
_CHECKPOINT = "SELECT position FROM rm_state"
_ANALYZE = "ANALYZE rm_items, rm_entities"
_SEARCH = """
SELECT entity, kind, country, names, aliases FROM rm_entities
WHERE generation = (SELECT live FROM rm_state)
  AND ($1::text IS NULL OR strpos(search, $1) > 0)
  AND ($2::text IS NULL OR kind = $2)
  AND ($3::text IS NULL OR country = $3)
ORDER BY entity
LIMIT $4
"""


# ------------------------------------------------------------------------------------ core


def normalize(text: str) -> str:
    """Search form of a name: NFKC, case-folded, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True, slots=True)
class EntityRecord:
    entity: str
    kind: str | None
    country: str | None
    names: bytes
    aliases: bytes
    search: str


Row = tuple[str, str, _dt.date, _dt.date, bool, bytes]
"""(aspect, key, valid_from, valid_to, present, body)"""
Rows = tuple[Row, ...]


def _rows_of(found: Sequence[Segment]) -> Rows:
    return tuple(
        sorted(
            (
                s.aspect,
                msgspec.json.encode(list(s.key)).decode(),
                s.valid_from,
                s.valid_to,
                s.present,
                s.body,
            )
            for s in found
        )
    )


def _rows_of_db(rows: Iterable[asyncpg.Record]) -> Rows:
    return tuple(
        sorted(
            (r["aspect"], r["key"], r["valid_from"], r["valid_to"], r["present"], bytes(r["body"]))
            for r in rows
        )
    )


def entity_record(entity: str, facts: Sequence[Fact]) -> EntityRecord | None:
    """The entity as known now: names and aliases of its latest registration (world order), and
    every name and alias it was ever registered under, for search."""
    chosen = effective(facts, None)
    registrations = [
        f.event
        for f in chosen
        if isinstance(f.event, EntityRegistered) and f.event.entity == entity
    ]
    if not registrations:
        return None
    state: EntityState = state_as_of(entity, chosen, _NOW_DAY)
    words = {entity}
    for event in registrations:
        words.update(event.names.values())
        words.update(event.aliases)
    return EntityRecord(
        entity=entity,
        kind=state.kind,
        country=state.country,
        names=msgspec.json.encode(state.names),
        aliases=msgspec.json.encode(list(state.aliases)),
        search="\n".join(sorted(normalize(w) for w in words)),
    )


def touched(facts: Iterable[Fact]) -> tuple[set[str], set[str]]:
    """(entities touched directly, rules all of whose targets are touched too).

    A rule's issuance touches the companies it names; any other event of a rule's stream
    (a rescission, a correction or retraction of an issuance, ...) may touch every company
    the rule ever named.
    """
    direct: set[str] = set()
    fan_out: set[str] = set()
    for fact in facts:
        event = fact.event
        direct.add(event.entity)
        if isinstance(event, RuleIssued):
            direct.update(event.targets)
            if event.supersedes:
                fan_out.add(event.entity)
        else:
            fan_out.add(event.entity)
    return direct, fan_out


def _may_rename(fact: Fact) -> bool:
    """Only an entity's own registrations, and corrections or retractions in its own stream
    (which may withdraw one), change its names, aliases, kind or country."""
    return isinstance(fact.event, EntityRegistered) or bool(fact.event.supersedes)


@dataclass
class _Memory:
    """Facts in memory, indexed like the projector reads them: an entity's own stream, and
    the streams of the rules that name it.

    Of a rule's stream, an entity needs every fact but the issuances that neither name it nor
    take part in a correction (they neither supersede nor are superseded): `evolve` leaves the
    entity's state as it is for those, and no selection depends on them. Leaving them out keeps
    a company's facts small when a rule has been issued thousands of times.
    """

    own: dict[str, list[Fact]] = field(default_factory=lambda: defaultdict(list))
    rules_naming: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    targets_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    naming: dict[tuple[str, str], list[Fact]] = field(default_factory=lambda: defaultdict(list))
    shared: dict[str, dict[int, Fact]] = field(default_factory=lambda: defaultdict(dict))
    issuances: dict[object, Fact] = field(default_factory=dict)
    superseded: set[object] = field(default_factory=set)

    def add(self, fact: Fact) -> None:
        event = fact.event
        entity = event.entity
        self.own[entity].append(fact)
        for old in event.supersedes:
            self.superseded.add(old)
            earlier = self.issuances.get(old)
            if earlier is not None:
                self.shared[earlier.event.entity][earlier.position] = earlier
        if isinstance(event, RuleIssued):
            self.issuances[event.id] = fact
            for target in event.targets:
                self.rules_naming[target].add(entity)
                self.targets_of[entity].add(target)
                self.naming[(entity, target)].append(fact)
            if event.supersedes or event.id in self.superseded:
                self.shared[entity][fact.position] = fact
        else:
            self.shared[entity][fact.position] = fact

    def facts_for(self, entity: str) -> list[Fact]:
        chosen = {f.position: f for f in self.own.get(entity, ())}
        for rule in self.rules_naming.get(entity, ()):
            chosen.update(self.shared.get(rule, {}))
            for fact in self.naming.get((rule, entity), ()):
                chosen[fact.position] = fact
        return [chosen[p] for p in sorted(chosen)]


class _Folding:
    """Feeds the log, one append transaction (`recorded_at` group) at a time, into versions of
    each entity's rows and its search record. Shared by the incremental projector (which seeds
    it with the facts and current rows of the entities a page touches) and the rebuild (which
    feeds it the whole log), so both write the same rows byte for byte.
    """

    def __init__(self, generation: int, memory: _Memory | None = None) -> None:
        self.generation = generation
        self.memory = memory if memory is not None else _Memory()
        self.current: dict[str, dict[Row, _dt.datetime | None]] = {}
        """entity -> its current rows, each with its recorded_from (None: already stored)."""
        self.closed: list[tuple] = []
        self.db_closes: list[tuple[str, str, str, _dt.date, _dt.datetime]] = []
        """Stored current rows to close: (entity, aspect, key, valid_from, recorded_to)."""
        self.dirty: set[str] = set()
        self.records: dict[str, EntityRecord] = {}
        self.position = 0
        self._pending: list[Fact] = []

    def stored(self, entity: str, rows: Rows) -> None:
        if rows:
            self.current[entity] = dict.fromkeys(rows)

    def feed(self, fact: Fact) -> None:
        # A group is applied before the next group's first fact joins the memory, so the
        # facts it sees are exactly those up to its own last position.
        if self._pending and self._pending[-1].recorded_at != fact.recorded_at:
            self.flush()
        self.memory.add(fact)
        self._pending.append(fact)
        self.position = fact.position

    def flush(self) -> None:
        if self._pending:
            group, self._pending = self._pending, []
            self._apply(group)

    def _apply(self, group: list[Fact]) -> None:
        recorded_at = group[-1].recorded_at
        direct, subjects = touched(group)
        affected = set(direct)
        for subject in subjects:
            affected.update(self.memory.targets_of.get(subject, ()))
        renamed = {f.event.entity for f in group if _may_rename(f)}
        for entity in sorted(affected):
            facts = self.memory.facts_for(entity)
            rows = _rows_of(segments(entity, facts, None))
            previous = self.current.get(entity, {})
            if len(rows) != len(previous) or any(row not in previous for row in rows):
                # Only rows that changed are closed and opened: a row that is still true keeps
                # the recorded_from at which it became the log's knowledge.
                now = {row: previous[row] if row in previous else recorded_at for row in rows}
                for row, since in previous.items():
                    if row in now:
                        continue
                    if since is None:
                        self.db_closes.append((entity, row[0], row[1], row[2], recorded_at))
                    else:
                        self.closed.extend(
                            _item_tuples(self.generation, entity, (row,), since, recorded_at)
                        )
                self.current[entity] = now
                self.dirty.add(entity)
            if entity in renamed:
                record = entity_record(entity, facts)
                if record is not None:
                    self.records[entity] = record

    def open_rows(self) -> list[tuple]:
        """The current version of every entity whose rows changed, open-ended."""
        out: list[tuple] = []
        for entity in sorted(self.dirty):
            for row, since in self.current[entity].items():
                if since is not None:
                    out.extend(_item_tuples(self.generation, entity, (row,), since))
        return out

    def record_rows(self) -> list[tuple]:
        return [
            (self.generation, r.entity, r.kind, r.country, r.names, r.aliases, r.search)
            for _, r in sorted(self.records.items())
        ]


# ------------------------------------------------------------------------------------ projector


class Projector:
    """Keeps the read models current, a page of append transactions at a time.

    Per page: one query for the entities it touches (the targets of rules whose stream moved),
    one for their facts up to the checkpoint, one for their current rows; then the groups are
    folded in memory exactly as the rebuild folds them, and written with one UPDATE (closing the
    replaced rows), one COPY and one upsert, with the checkpoint, in one transaction.

    Decoded facts are kept by position (the log never changes below the checkpoint), up to
    `FACT_CACHE` of them, so a rule's long stream is not decoded again for every page.
    """

    FACT_CACHE = 200_000
    ANALYZE_AFTER = 5_000

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._facts: dict[int, Fact] = {}
        self._written = 0
        self._analyze_at = self.ANALYZE_AFTER

    async def checkpoint(self) -> int:
        return await self._pool.fetchval(_CHECKPOINT)

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
            await self._pool.execute(_ANALYZE)
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
        """Project one page of the log in one transaction. (caught up?, checkpoint)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK, PROJECTOR_LOCK_KEY)
            live, checkpoint, _version = await conn.fetchrow(_STATE)
            rows = list(await conn.fetch(_EVENTS_AFTER, checkpoint, page))
            if not rows:
                return True, checkpoint
            if len(rows) == page:  # never split an append transaction across two steps
                last = recorded_from_row(rows[-1])
                rows.extend(await conn.fetch(_REST_OF_GROUP, last.position, last.recorded_at))
            facts = [self._fact(r) for r in rows]
            direct, subjects = touched(facts)
            upto = facts[-1].position
            targets = await conn.fetch(_TARGETS_OF_RULES, sorted(subjects), upto)
            affected = sorted(direct | {r["ref"] for r in targets})
            folding = _Folding(live)
            for row in await conn.fetch(_FACTS_OF, affected, checkpoint):
                folding.memory.add(self._fact(row))
            stored: dict[str, list[asyncpg.Record]] = defaultdict(list)
            for row in await conn.fetch(_CURRENT_ROWS_OF, live, affected):
                stored[row["entity"]].append(row)
            for entity, found in stored.items():
                folding.stored(entity, _rows_of_db(found))
            for fact in facts:
                folding.feed(fact)
            folding.flush()
            if folding.db_closes:
                await conn.execute(
                    _CLOSE_ROWS_OF, live, *map(list, zip(*folding.db_closes, strict=True))
                )
            items = folding.closed + folding.open_rows()
            if items:
                await conn.copy_records_to_table("rm_items", records=items, columns=_ITEM_COLUMNS)
                self._written += len(items)
            records = folding.record_rows()
            if records:
                await conn.execute(_UPSERT_ENTITIES, *map(list, zip(*records, strict=True)))
            await conn.execute(_SET_POSITION, upto)
            return len(rows) < page, upto

    async def run(
        self,
        wake: Callable[[int, float], Awaitable[object]],
        *,
        on_progress: Callable[[int], None] | None = None,
        poll: float = 1.0,
    ) -> None:
        """Forever: catch up, then wait until the log passes the checkpoint (or `poll` s)."""
        while True:
            try:
                await self.ensure_version()
                position = await self.catch_up()
            except asyncio.CancelledError:
                raise
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("projector paused: %s", exc)
                await asyncio.sleep(poll)
                continue
            if on_progress is not None:
                on_progress(position)
            await wake(position, poll)

    async def ensure_version(self, progress: Progress | None = None) -> bool:
        """Rebuild when the stored projection version is not this code's. True if rebuilt."""
        version = await self._pool.fetchval("SELECT version FROM rm_state")
        if version == PROJECTION_VERSION:
            return False
        await rebuild(self._pool, progress=progress)
        return True


def _item_tuples(
    generation: int,
    entity: str,
    rows: Rows,
    recorded_from: _dt.datetime,
    recorded_to: _dt.datetime | None = None,
) -> list[tuple]:
    out = []
    for aspect, key, valid_from, valid_to, present, body in rows:
        record = [generation, entity, aspect, key, valid_from, valid_to, recorded_from]
        record.append(recorded_to if recorded_to is not None else _INFINITY)
        record.extend((present, body))
        out.append(tuple(record))
    return out


_INFINITY = _dt.datetime.max.replace(tzinfo=_dt.UTC)


# ------------------------------------------------------------------------------------ rebuild


async def rebuild(pool: asyncpg.Pool, *, progress: Progress | None = None) -> int:
    """Build the read models afresh from the log beside the live ones, then swap them in.

    Readers keep using the live generation until the flip, which happens in one transaction
    with the catch-up of whatever was appended meanwhile. Returns the new generation.
    """
    live = await pool.fetchval("SELECT live FROM rm_state")
    generation = live + 1
    folding = _Folding(generation)
    # Leftovers of a rebuild that died before its flip.
    await pool.execute(_CLEAR_ITEMS, generation)
    await pool.execute(_CLEAR_ENTITIES, generation)
    total = await pool.fetchval(_HEAD)

    def feed(rows: Sequence[asyncpg.Record]) -> None:
        for r in rows:
            folding.feed(fact_of(recorded_from_row(r)))

    async with pool.acquire() as conn:
        while True:
            rows = await conn.fetch(_EVENTS_AFTER, folding.position, PAGE)
            if not rows:
                break
            feed(rows)
            if progress is not None:
                progress(folding.position, max(total, folding.position))
            if len(folding.closed) > 20_000:
                await conn.copy_records_to_table(
                    "rm_items", records=folding.closed, columns=_ITEM_COLUMNS
                )
                folding.closed.clear()
        # Catch up and flip under the projector's lock: the live projector waits meanwhile.
        async with conn.transaction():
            await conn.execute(_LOCK, PROJECTOR_LOCK_KEY)
            while True:
                rows = await conn.fetch(_EVENTS_AFTER, folding.position, PAGE)
                if not rows:
                    break
                feed(rows)
            folding.flush()
            records = folding.closed + folding.open_rows()
            if records:
                await conn.copy_records_to_table("rm_items", records=records, columns=_ITEM_COLUMNS)
            entity_rows = folding.record_rows()
            if entity_rows:
                await conn.copy_records_to_table(
                    "rm_entities", records=entity_rows, columns=_ENTITY_COLUMNS
                )
            await conn.execute(_FLIP, generation, folding.position, PROJECTION_VERSION)
        if progress is not None:
            progress(folding.position, max(total, folding.position))
        await conn.execute(_DROP_OTHER_ITEMS, generation)
        await conn.execute(_DROP_OTHER_ENTITIES, generation)
    return generation


# ------------------------------------------------------------------------------------ queries


async def checkpoint(pool: asyncpg.Pool) -> int:
    """The last log position the read models (of this database) include."""
    return await pool.fetchval(_CHECKPOINT)


async def follow_projector(
    pool: asyncpg.Pool, on_progress: Callable[[int], None], poll: float = 1.0
) -> None:
    """With the projector in a process of its own (`timeline projections run`): report its
    progress, read from the database every `poll` seconds, for metrics and the read-model
    gate. Forever; connection errors just skip a beat."""
    while True:
        with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
            on_progress(await checkpoint(pool))
        await asyncio.sleep(poll)


def _decode_item(aspect: str, body: bytes) -> msgspec.Struct:
    return msgspec.json.decode(body, type=_ITEM_TYPES[aspect])


async def list_members(
    pool: asyncpg.Pool | asyncpg.Connection,
    list_id: str,
    as_of: _dt.date,
    known_at: _dt.datetime | None = None,
) -> tuple[Member, ...]:
    """Who was on `list_id` on `as_of`, as known at `known_at`: equals projections.list_members."""
    if known_at is None:
        rows = await pool.fetch(_MEMBERS_NOW, _key(list_id), as_of)
    else:
        rows = await pool.fetch(_MEMBERS_AT, _key(list_id), as_of, known_at)
    members = []
    for row in rows:
        listing = msgspec.json.decode(bytes(row["body"]), type=Listing)
        members.append(
            Member(
                entity=row["entity"],
                since=listing.since,
                certainty=listing.certainty,
                event_ids=listing.event_ids,
            )
        )
    return tuple(members)


async def changes(
    pool: asyncpg.Pool | asyncpg.Connection,
    from_date: _dt.date,
    to_date: _dt.date,
    known_at: _dt.datetime | None = None,
) -> tuple[Change, ...]:
    """What changed between two world dates, as known at `known_at`: equals projections.changes."""
    if from_date > to_date:
        raise ValueError(f"from ({from_date}) must be on or before to ({to_date})")
    if known_at is None:
        before_rows = await pool.fetch(_ITEMS_ON_NOW, from_date)
        after_rows = await pool.fetch(_ITEMS_ON_NOW, to_date)
    else:
        before_rows = await pool.fetch(_ITEMS_ON_AT, from_date, known_at)
        after_rows = await pool.fetch(_ITEMS_ON_AT, to_date, known_at)
    old: dict[str, dict] = defaultdict(dict)
    new: dict[str, dict] = defaultdict(dict)
    removed: dict[str, dict] = defaultdict(dict)
    for row in before_rows:
        if row["present"]:
            ref = (row["aspect"], tuple(msgspec.json.decode(row["key"])))
            old[row["entity"]][ref] = _decode_item(row["aspect"], bytes(row["body"]))
    for row in after_rows:
        ref = (row["aspect"], tuple(msgspec.json.decode(row["key"])))
        if row["present"]:
            new[row["entity"]][ref] = _decode_item(row["aspect"], bytes(row["body"]))
        else:
            removed[row["entity"]][ref] = msgspec.json.decode(bytes(row["body"]))["removed_by"]
    out: list[Change] = []
    for entity in sorted(set(old) | set(new)):
        out.extend(diff_items(entity, old[entity], new[entity], removed[entity]))
    return tuple(out)


class EntitySummary(msgspec.Struct, frozen=True):
    id: str
    kind: str | None
    country: str | None
    names: dict[str, str]
    aliases: list[str]


async def search_entities(
    pool: asyncpg.Pool,
    query: str | None,
    *,
    kind: str | None = None,
    country: str | None = None,
    limit: int = 50,
) -> list[EntitySummary]:
    needle = normalize(query) if query else None
    rows = await pool.fetch(_SEARCH, needle or None, kind, country, limit)
    return [
        EntitySummary(
            id=r["entity"],
            kind=r["kind"],
            country=r["country"],
            names=msgspec.json.decode(bytes(r["names"])),
            aliases=msgspec.json.decode(bytes(r["aliases"])),
        )
        for r in rows
    ]


def _key(*parts: str) -> str:
    return msgspec.json.encode(list(parts)).decode()


async def stop_quietly(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
