"""Name search over the read models (migration 0014): the tables' SQL, their upkeep for the
projector and the rebuild, and the ranked search.

A search looks up candidates in `rm_name_keys` by the query's keys (`projections.names`), in
stages that follow the order of the match kinds: (1) the id and whole-name keys (exact, core,
transliteration), (2) every query word as a whole word, (3) prefixes of the whole name or of
every word, (4) fuzzy candidates, from prefix ranges of the key and of the reversed key. After
each stage the new candidates are ranked with `projections.names.rank.score` on their names as of
the day asked for; as soon as enough results of the kinds found so far are in hand, the later
stages cannot change the page and are skipped. Each lookup returns at most `CANDIDATES`
entities.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from collections.abc import Sequence

import asyncpg
import msgspec

from projections import fact_of
from projections.name_index import (
    ROLE_FORMS,
    ROLE_TOKEN,
    FormerAware,
    NameSpan,
    candidate_on,
    entity_name_spans,
    keys_from_rows,
)
from projections.names.keys import name_keys
from projections.names.rank import MATCH_KINDS, MatchKind, Query, Ranked, allowed_edits, score
from projections.names.rank import query as make_query
from projections.names.scripts import is_han
from projections.rows import Folding
from service.eventlog.store import EventStore

CANDIDATES = 2000
"""At most this many entities from one lookup."""

NAME_COLUMNS = ("generation", "entity", "ordinal", "name", "valid_from", "valid_to")
KEY_COLUMNS = ("generation", "entity", "ordinal", "roles", "key", "rkey")
DELETE_NAMES_OF = "DELETE FROM rm_entity_names WHERE generation = $1 AND entity = ANY($2::text[])"
DELETE_KEYS_OF = "DELETE FROM rm_name_keys WHERE generation = $1 AND entity = ANY($2::text[])"
CLEAR_NAMES = "DELETE FROM rm_entity_names WHERE generation = $1"
CLEAR_KEYS = "DELETE FROM rm_name_keys WHERE generation = $1"
DROP_OTHER_NAMES = "DELETE FROM rm_entity_names WHERE generation <> $1"
DROP_OTHER_KEYS = "DELETE FROM rm_name_keys WHERE generation <> $1"

LIVE = "SELECT live FROM rm_state"
BY_ID = "SELECT entity FROM rm_entities WHERE generation = $1 AND entity = $2"
KEYS_EQUAL = """
SELECT DISTINCT entity FROM rm_name_keys
WHERE generation = $1 AND key = ANY($2::text[]) AND roles & $3 <> 0
LIMIT $4
"""
# Entities with, for each of $9 words, a key in one of the word's ranges: [lo, hi) of the key
# ($2..$4) or of the reversed key ($5..$7), among keys with one of the roles $8.
KEYS_IN_RANGES = """
SELECT entity FROM (
    SELECT k.entity, w.word
    FROM unnest($2::text[], $3::text[], $4::integer[]) AS w (lo, hi, word)
    JOIN rm_name_keys AS k ON k.generation = $1 AND k.key >= w.lo AND k.key < w.hi
    WHERE k.roles & $8 <> 0
    UNION ALL
    SELECT k.entity, w.word
    FROM unnest($5::text[], $6::text[], $7::integer[]) AS w (lo, hi, word)
    JOIN rm_name_keys AS k ON k.generation = $1 AND k.rkey >= w.lo AND k.rkey < w.hi
    WHERE k.roles & $8 <> 0
) AS hit
GROUP BY entity HAVING count(DISTINCT word) = $9
LIMIT $10
"""
NAMES_OF = """
SELECT entity, ordinal, name, valid_from, valid_to FROM rm_entity_names
WHERE generation = $1 AND entity = ANY($2::text[])
"""
KEYS_OF = """
SELECT entity, ordinal, roles, key FROM rm_name_keys
WHERE generation = $1 AND entity = ANY($2::text[])
"""
ENTITIES_OF = """
SELECT entity, kind, country, names, aliases FROM rm_entities
WHERE generation = $1 AND entity = ANY($2::text[])
"""
LIST = """
SELECT entity, kind, country, names, aliases FROM rm_entities
WHERE generation = $1
  AND ($2::text IS NULL OR kind = $2)
  AND ($3::text IS NULL OR country = $3)
  AND ($4::text IS NULL OR entity > $4)
ORDER BY entity
LIMIT $5
"""

_EXACTLY = "\x01"  # keys hold letters, digits and marks only: [w, w + U+0001) is {w}
_ANY_REST = "\U0010ffff"


# ------------------------------------------------------------------ upkeep (projector, rebuild)


async def replace_names(conn: asyncpg.Connection, generation: int, folding: Folding) -> None:
    """Replace the stored names and keys of the entities whose names `folding` recomputed."""
    renamed = sorted(folding.records)
    if not renamed:
        return
    await conn.execute(DELETE_NAMES_OF, generation, renamed)
    await conn.execute(DELETE_KEYS_OF, generation, renamed)
    await write_names(conn, folding)


async def write_names(conn: asyncpg.Connection, folding: Folding) -> None:
    names = folding.name_rows()
    if names:
        await conn.copy_records_to_table("rm_entity_names", records=names, columns=NAME_COLUMNS)
    keys = folding.name_key_rows()
    if keys:
        await conn.copy_records_to_table("rm_name_keys", records=keys, columns=KEY_COLUMNS)


async def clear(conn: asyncpg.Pool | asyncpg.Connection, generation: int) -> None:
    await conn.execute(CLEAR_NAMES, generation)
    await conn.execute(CLEAR_KEYS, generation)


async def drop_other(conn: asyncpg.Pool | asyncpg.Connection, generation: int) -> None:
    await conn.execute(DROP_OTHER_NAMES, generation)
    await conn.execute(DROP_OTHER_KEYS, generation)


# ------------------------------------------------------------------------------------ search


class Matched(msgspec.Struct, frozen=True):
    """Why an entity was found: the name that matched, how, and whether the entity no longer
    bore that name on the day asked for."""

    name: str
    kind: MatchKind
    former: bool


class Hit(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    kind: str | None
    country: str | None
    names: dict[str, str]
    aliases: list[str]
    matched: Matched | None = None


class Page(msgspec.Struct, frozen=True):
    entities: list[Hit]
    cursor: str | None


class BadCursor(ValueError):
    """The cursor was not made by this search for this query."""


def _digest(*parts: object) -> str:
    return hashlib.blake2b(msgspec.json.encode(list(parts)), digest_size=6).hexdigest()


def encode_cursor(scope: str, after: Sequence[object]) -> str:
    raw = msgspec.json.encode([scope, list(after)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found_scope, after = msgspec.json.decode(raw, type=tuple[str, list[int | str]])
    except (ValueError, msgspec.DecodeError):
        raise BadCursor("is not a cursor this search gave") from None
    if found_scope != scope:
        raise BadCursor("belongs to another query: start again without it")
    return after


class _Found:
    """The candidates ranked so far."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.ranked: dict[str, tuple[Ranked, frozenset[str], asyncpg.Record]] = {}


def _ranges(word: str, exactly: bool) -> tuple[str, str]:
    return word, word + (_EXACTLY if exactly else _ANY_REST)


def _min_prefix(key: str) -> int:
    return 1 if is_han(key[:1]) else 2


def _fuzzy_piece(length: int, edits: int) -> int:
    """Characters at the start (or the end) of a key that a match within `edits` edits keeps
    intact on at least one side, most of the time: half of what the edits leave, 2 at least."""
    return max(2, (length - 2 * edits) // 2)


async def search(
    conn: asyncpg.Pool | asyncpg.Connection,
    text: str,
    *,
    day: _dt.date,
    kind: str | None = None,
    country: str | None = None,
    limit: int = 50,
    after: Sequence[object] | None = None,
    known_at: _dt.datetime | None = None,
    store: EventStore | None = None,
) -> tuple[list[Hit], list | None]:
    """The entities whose names match `text`, best first, after the score `after` (a cursor),
    at most `limit`; and the score to continue after, when there are more. Names are those the
    entity bore on or before `day`; with `known_at`, as the log (read through `store`) knew them
    then."""
    generation = await conn.fetchval(LIVE)
    q = make_query(text)
    keys = q.keys
    cut = tuple(after) if after is not None else None
    found = _Found()
    needed = limit + 1

    def enough(upto_rank: int) -> bool:
        count = 0
        for ranked, _, _ in found.ranked.values():
            if ranked.score[0] <= upto_rank and (cut is None or ranked.score > cut):
                count += 1
        return count >= needed

    async def rank_new(entities: set[str] | list[str]) -> None:
        new = sorted(set(entities) - found.seen)
        if not new:
            return
        found.seen.update(new)
        await _rank(conn, generation, q, new, day, kind, country, known_at, store, found)

    forms = sorted(keys.exact | keys.core | keys.latin)
    required = sorted(keys.core_tokens or keys.tokens)

    # 1. id and whole-name keys
    stage: set[str] = set()
    if q.id_key and await conn.fetchval(BY_ID, generation, q.id_key):
        stage.add(q.id_key)
    if forms:
        rows = await conn.fetch(KEYS_EQUAL, generation, forms, ROLE_FORMS, CANDIDATES)
        stage.update(r["entity"] for r in rows)
    await rank_new(stage)
    if not enough(MATCH_KINDS.index("transliteration")):
        # 2. every word, whole
        if required:
            await rank_new(await _in_ranges(conn, generation, required, exactly=True))
        if not enough(MATCH_KINDS.index("tokens")):
            # 3. prefixes of the whole name or of every word
            starts = [s for s in sorted(keys.exact | keys.core) if len(s) >= _min_prefix(s)]
            stage = set()
            if starts:
                stage |= await _any_range(conn, generation, starts)
            if required:
                stage |= await _in_ranges(conn, generation, required, exactly=False)
            await rank_new(stage)
            if not enough(MATCH_KINDS.index("prefix")):
                # 4. fuzzy
                await rank_new(await _fuzzy(conn, generation, forms, required))

    ordered = sorted(
        (item for item in found.ranked.values() if cut is None or item[0].score > cut),
        key=lambda item: item[0].score,
    )
    page = ordered[:limit]
    hits = [
        Hit(
            id=row["entity"],
            kind=row["kind"],
            country=row["country"],
            names=msgspec.json.decode(bytes(row["names"])),
            aliases=msgspec.json.decode(bytes(row["aliases"])),
            matched=Matched(
                name=ranked.matched[0],
                kind=ranked.matched[1],
                former=ranked.matched[1] != "id" and ranked.matched[0] in former,
            ),
        )
        for ranked, former, row in page
    ]
    more = list(page[-1][0].score) if len(ordered) > limit and page else None
    return hits, more


async def _in_ranges(
    conn: asyncpg.Pool | asyncpg.Connection, generation: int, words: list[str], *, exactly: bool
) -> set[str]:
    """Entities with every word as a word of one name or another (or a word it begins)."""
    pairs = [_ranges(w, exactly) for w in words]
    rows = await conn.fetch(
        KEYS_IN_RANGES,
        generation,
        [lo for lo, _ in pairs],
        [hi for _, hi in pairs],
        list(range(len(words))),
        [],
        [],
        [],
        ROLE_TOKEN,
        len(words),
        CANDIDATES,
    )
    return {r["entity"] for r in rows}


async def _any_range(
    conn: asyncpg.Pool | asyncpg.Connection, generation: int, starts: list[str]
) -> set[str]:
    """Entities with a whole-name key that begins with one of `starts`."""
    pairs = [_ranges(s, False) for s in starts]
    rows = await conn.fetch(
        KEYS_IN_RANGES,
        generation,
        [lo for lo, _ in pairs],
        [hi for _, hi in pairs],
        [0] * len(pairs),
        [],
        [],
        [],
        ROLE_FORMS,
        1,
        CANDIDATES,
    )
    return {r["entity"] for r in rows}


async def _fuzzy(
    conn: asyncpg.Pool | asyncpg.Connection,
    generation: int,
    forms: list[str],
    required: list[str],
) -> set[str]:
    """Candidates for fuzzy matches: whole-name keys, or every word, that begin or end like the
    query's (the part of it that a few edits most likely leave intact)."""
    found: set[str] = set()
    heads: list[tuple[str, str, int]] = []
    tails: list[tuple[str, str, int]] = []
    for key in forms:
        edits = allowed_edits(len(key))
        if edits:
            piece = _fuzzy_piece(len(key), edits)
            heads.append((*_ranges(key[:piece], False), 0))
            tails.append((*_ranges(key[::-1][:piece], False), 0))
    if heads:
        found |= await _ranges_query(conn, generation, heads, tails, ROLE_FORMS, 1)
    if required and any(allowed_edits(len(w)) for w in required):
        heads, tails = [], []
        for i, word in enumerate(required):
            edits = allowed_edits(len(word))
            if not edits:
                heads.append((*_ranges(word, True), i))
                continue
            piece = _fuzzy_piece(len(word), edits)
            heads.append((*_ranges(word[:piece], False), i))
            tails.append((*_ranges(word[::-1][:piece], False), i))
        found |= await _ranges_query(conn, generation, heads, tails, ROLE_TOKEN, len(required))
    return found


async def _ranges_query(
    conn: asyncpg.Pool | asyncpg.Connection,
    generation: int,
    heads: list[tuple[str, str, int]],
    tails: list[tuple[str, str, int]],
    roles: int,
    words: int,
) -> set[str]:
    rows = await conn.fetch(
        KEYS_IN_RANGES,
        generation,
        [h[0] for h in heads],
        [h[1] for h in heads],
        [h[2] for h in heads],
        [t[0] for t in tails],
        [t[1] for t in tails],
        [t[2] for t in tails],
        roles,
        words,
        CANDIDATES,
    )
    return {r["entity"] for r in rows}


async def _rank(
    conn: asyncpg.Pool | asyncpg.Connection,
    generation: int,
    q: Query,
    entities: list[str],
    day: _dt.date,
    kind: str | None,
    country: str | None,
    known_at: _dt.datetime | None,
    store: EventStore | None,
    found: _Found,
) -> None:
    """Score `entities` for the query on `day` and keep those that match and pass the filters."""
    records = {r["entity"]: r for r in await conn.fetch(ENTITIES_OF, generation, entities)}
    entities = [
        e
        for e in entities
        if e in records
        and (kind is None or records[e]["kind"] == kind)
        and (country is None or records[e]["country"] == country)
    ]
    if not entities:
        return
    spans: dict[str, list[NameSpan]] = {e: [] for e in entities}
    keys: dict[str, dict[int, object]] = {e: {} for e in entities}
    if known_at is not None and store is not None:
        # Names as the log knew them at known_at: from the entities' own streams then.
        facts: dict[str, list] = {e: [] for e in entities}
        for event in await store.events_of(entities, known_at=known_at):
            facts[event.entity].append(fact_of(event))
        for entity in entities:
            spans[entity] = entity_name_spans(entity, facts[entity], known_at)
            keys[entity] = {s.ordinal: name_keys(s.name) for s in spans[entity]}
    else:
        names: dict[tuple[str, int], list] = {}
        for r in await conn.fetch(NAMES_OF, generation, entities):
            names.setdefault((r["entity"], r["ordinal"]), []).append(r)
        for (entity, ordinal), rows in names.items():
            spans[entity].append(
                NameSpan(
                    ordinal=ordinal,
                    name=msgspec.json.decode(bytes(rows[0]["name"]), type=str),
                    spans=tuple(sorted((r["valid_from"], r["valid_to"]) for r in rows)),
                )
            )
        rows_of: dict[tuple[str, int], list[tuple[int, str]]] = {}
        for r in await conn.fetch(KEYS_OF, generation, entities):
            rows_of.setdefault((r["entity"], r["ordinal"]), []).append((r["roles"], r["key"]))
        for (entity, ordinal), found_rows in rows_of.items():
            keys[entity][ordinal] = keys_from_rows(found_rows)
    for entity in entities:
        if not spans[entity]:
            continue
        seen: FormerAware = candidate_on(
            entity, records[entity]["kind"], spans[entity], keys[entity], day
        )
        ranked = score(q, seen.candidate)
        if ranked is not None:
            found.ranked[entity] = (ranked, seen.former, records[entity])


async def list_entities(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    kind: str | None,
    country: str | None,
    limit: int,
    after: str | None,
) -> tuple[list[Hit], str | None]:
    """Entities in id order (no query), after the id `after`; and the id to continue after."""
    generation = await conn.fetchval(LIVE)
    rows = await conn.fetch(LIST, generation, kind, country, after, limit + 1)
    hits = [
        Hit(
            id=r["entity"],
            kind=r["kind"],
            country=r["country"],
            names=msgspec.json.decode(bytes(r["names"])),
            aliases=msgspec.json.decode(bytes(r["aliases"])),
        )
        for r in rows[:limit]
    ]
    return hits, (hits[-1].id if len(rows) > limit else None)


def scope_of(
    q: str | None,
    kind: str | None,
    country: str | None,
    day: _dt.date | None,
    known_at: _dt.datetime | None,
) -> str:
    """What a cursor belongs to: a digest of the query and its filters."""
    return _digest(
        q,
        kind,
        country,
        day.isoformat() if day else None,
        known_at.isoformat() if known_at else None,
    )
