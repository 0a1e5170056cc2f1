"""Name search over the read models (migrations 0014, 0016, 0019, 0020): the tables' SQL, their
upkeep for the projector and the rebuild, and the ranked search (docs/name-search.md).

A search looks up candidates in `rm_name_keys` by the query's keys (`projections.names`), in
stages that follow the order of the match kinds: (1) the id and whole-name keys (exact, core,
transliteration), (2) every query word as a whole word and (3) prefixes of the whole name or of
every word, in one lookup, (4) fuzzy candidates: the distinct keys nearest the query's in the
vocabulary (`rm_name_vocab`), kept when within the allowed edits. Each stage gives its
candidates with a lower bound of their quality; they are ranked with
`projections.names.rank.score` on their names as of the day asked for, a chunk at a time, best
bound first, until the page is known (`limit + 1` results that no candidate not yet ranked can
beat), and the later stages are then skipped. Every lookup is bounded (`CANDIDATES`,
`FUZZY_CANDIDATES`, `DISTINCT_KEYS`), and a search reads one snapshot.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence

import asyncpg
import msgspec
from rapidfuzz import process
from rapidfuzz.distance import OSA

from events.types import ENTITY_ID_PATTERN
from projections import fact_of
from projections.name_index import (
    ROLE_CORE_TOKEN,
    ROLE_EXACT,
    ROLE_FORMS,
    ROLE_TOKEN,
    FormerAware,
    NameSpan,
    candidate_on,
    entity_name_spans,
    keys_from_rows,
)
from projections.names.keys import NameKeys, name_keys
from projections.names.rank import (
    FUZZY_EDIT,
    FUZZY_WORDWISE,
    MATCH_KINDS,
    MatchKind,
    Query,
    Ranked,
    allowed_edits,
    kind_order,
    score,
)
from projections.names.rank import query as make_query
from projections.names.scripts import is_han
from projections.rows import Folding
from service.eventlog.store import EventStore

CANDIDATES = 2000
"""At most this many keys read from one range of a lookup (a whole-name key, a word, a prefix);
and a fuzzy lookup's next rarest word narrows its candidates only when it has fewer rows."""
CHUNK = 16
"""Candidates are ranked this many at a time, in the order of their lower bound, beyond those
the page needs."""
FUZZY_CANDIDATES = 100
"""At most this many entities from the rarest word of a fuzzy lookup: a word a typo away from a
common one (`chon`: `chin`, `chong`, `hon`) has thousands, each to be probed for the other
words."""
SUMMED_KEYS = 256
"""At most this many of the vocabulary's keys in a word's range are summed for its rows, when
choosing the rarest word of a lookup (`KEYS_IN_NAMES`)."""
READ_OVER_PROBES = 10
"""The next rarest word's rows are read (and hashed) rather than each candidate probed for it
when they are at most this many times the candidates: reading an index entry costs a few tenths
of a microsecond, a probe a few microseconds."""
KINDS_BEYOND = 64
"""When a word lookup finds more entities than this, their kinds come with them: many matches
of one quality (`Cho Chol`: 557) are then ranked only as far as the page needs, ties broken by
the bound (names, kind, id) rather than by ranking them all."""
DISTINCT_KEYS = 20
"""At most this many distinct keys read each way from each of a fuzzy lookup's keys."""

NAME_COLUMNS = ("generation", "entity", "ordinal", "name", "valid_from", "valid_to")
KEY_COLUMNS = ("generation", "entity", "ordinal", "roles", "key", "rkey")
DELETE_NAMES_OF = "DELETE FROM rm_entity_names WHERE generation = $1 AND entity = ANY($2::text[])"
DELETE_KEYS_OF = """
DELETE FROM rm_name_keys WHERE generation = $1 AND entity = ANY($2::text[]) RETURNING roles, key
"""
CLEAR_NAMES = "DELETE FROM rm_entity_names WHERE generation = $1"
CLEAR_KEYS = "DELETE FROM rm_name_keys WHERE generation = $1"
DROP_OTHER_NAMES = "DELETE FROM rm_entity_names WHERE generation <> $1"
DROP_OTHER_KEYS = "DELETE FROM rm_name_keys WHERE generation <> $1"
CLEAR_VOCABULARY = "DELETE FROM rm_name_vocab WHERE generation = $1"
DROP_OTHER_VOCABULARY = "DELETE FROM rm_name_vocab WHERE generation <> $1"
# Postings gained ($5) by keys ($3, reversed $4) as a word ($2 true) or a whole name (false):
# added to the vocabulary (migration 0021), or to the postings of a key already there.
ADD_POSTINGS = """
INSERT INTO rm_name_vocab AS v (generation, word, key, rkey, postings)
SELECT $1, g.word, g.key, g.rkey, g.postings
FROM unnest($2::boolean[], $3::text[], $4::text[], $5::integer[]) AS g (word, key, rkey, postings)
ON CONFLICT (generation, word, key) DO UPDATE SET postings = v.postings + excluded.postings
"""
# Postings lost ($4) by keys ($3) as a word ($2 true) or a whole name (false): a key left with
# none leaves the vocabulary. (Both parts read the rows as they were: each takes its own.)
DROP_POSTINGS = """
WITH g AS (
    SELECT * FROM unnest($2::boolean[], $3::text[], $4::integer[]) AS g (word, key, postings)
), gone AS (
    DELETE FROM rm_name_vocab AS v USING g
    WHERE v.generation = $1 AND v.word = g.word AND v.key = g.key AND v.postings <= g.postings
)
UPDATE rm_name_vocab AS v SET postings = v.postings - g.postings
FROM g
WHERE v.generation = $1 AND v.word = g.word AND v.key = g.key AND v.postings > g.postings
"""

LIVE = "SELECT live FROM rm_state"
# Entities with a name that has, for each word's range [lo, hi) ($2, $3), a key in it, among its
# keys with one of the roles $4. Each word's rows are the postings of the vocabulary's words in
# its range (migration 0021; summed over at most $6 of them: a range with more is common
# whatever they hold). The rarest word's entities (from at most $5 of its rows) are the
# candidates; when the next rarest word's rows are at most $14 times as many as the rarest's,
# only those among its entities too (one read of its rows, hashed, costs less than a probe per
# candidate). Each is probed for every other word, the rarest first; the keys of those that
# have them all are read once (one index range; `OFFSET 0` keeps the planner from turning that
# back into one probe per entity and word) and grouped by name. With,
# for the best such name, as `rank.match_name` counts them:
# - `rest`: the characters its keys have beyond the ranges' starts (the least for each word,
#   summed): a lower bound of a prefix match's quality;
# - `quality`, when each word is a whole word of it (no character beyond a range's start): that
#   of a whole-word match: twice its core words ($7: role) other than the query's words ($8),
#   plus one unless one of its exact keys ($9: role) begins with one of the query's ($10);
# - `names_whole` and `names`: how many of its names have every word whole, and as a prefix (at
#   least as many as can match as whole words, or as prefixes);
# - `kind`, when the lookup finds more than $15 entities ('' for none): with the counts, a
#   bound with its ties broken, so that of hundreds of matches of one quality (`Cho Chol`)
#   only as many are ranked as the page needs.
# With prefix ranges, one lookup gives the candidates of whole-word matches and of prefixes: a
# name with every word has a key in every word's prefix range, and the rarest word's range is
# read in key order, the word itself first: when it holds more keys than are read, those left
# are longer words, whose names are no whole-word match.
# And in the same round trip, the entities with a whole-name key (of one of the roles $13) in
# one of the ranges [lo, hi) ($11, $12), at most $5 keys from each range, with the fewest
# characters a key of theirs has beyond its range's start as `rest` (a prefix of the whole name)
# and `capped`: whether a range they were read from held more keys than were read.
KEYS_IN_NAMES = """
WITH w AS (
    SELECT * FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w (lo, hi, word)
), placed AS MATERIALIZED (
    SELECT w.*, c.postings, c.exact, row_number() OVER (ORDER BY c.postings, w.word) AS place
    FROM w CROSS JOIN LATERAL (
        SELECT coalesce(sum(v.postings), 0) AS postings, count(*) < $6 AS exact FROM (
            SELECT v.postings FROM rm_name_vocab AS v
            WHERE v.generation = $1 AND v.word AND v.key >= w.lo AND v.key < w.hi
            LIMIT $6) AS v
    ) AS c
), rarest AS (
    SELECT placed.lo, placed.hi FROM placed WHERE place = 1
), second AS (
    -- the next rarest word, when its rows are few enough to read
    SELECT placed.lo, placed.hi FROM placed
    WHERE place = 2 AND exact
      AND postings <= $14 * (SELECT least(postings, $5) FROM placed WHERE place = 1)
), driver AS (
    SELECT DISTINCT x.entity FROM rarest CROSS JOIN LATERAL (
        SELECT k.entity FROM rm_name_keys AS k
        WHERE k.generation = $1 AND k.key >= rarest.lo AND k.key < rarest.hi
          AND k.roles & $4 <> 0
        LIMIT $5
    ) AS x
    WHERE NOT EXISTS (SELECT 1 FROM second)
       OR x.entity IN (SELECT k.entity FROM second JOIN rm_name_keys AS k
                       ON k.generation = $1 AND k.key >= second.lo AND k.key < second.hi
                       WHERE k.roles & $4 <> 0)
), checked AS (
    -- each other word probed, the rarest first (the first it lacks rules an entity out)
    SELECT d.entity FROM driver AS d
    WHERE NOT EXISTS (
        SELECT 1 FROM placed AS p WHERE p.place > 1 AND NOT EXISTS (
            SELECT 1 FROM rm_name_keys AS k
            WHERE k.generation = $1 AND k.entity = d.entity AND k.key >= p.lo AND k.key < p.hi
              AND k.roles & $4 <> 0))
), own AS (
    SELECT d.entity, k.ordinal, k.roles, k.key FROM checked AS d
    CROSS JOIN LATERAL (
        SELECT k.ordinal, k.roles, k.key FROM rm_name_keys AS k
        WHERE k.generation = $1 AND k.entity = d.entity
        OFFSET 0
    ) AS k
), per_word AS (
    SELECT own.entity, own.ordinal, min(length(own.key)) - length(w.lo) AS rest
    FROM own JOIN w ON own.key >= w.lo AND own.key < w.hi AND own.roles & $4 <> 0
    GROUP BY own.entity, own.ordinal, w.word, w.lo
), per_name AS (
    SELECT per_word.entity, per_word.ordinal, sum(per_word.rest) AS rest
    FROM per_word
    GROUP BY per_word.entity, per_word.ordinal
    HAVING count(*) = cardinality($2::text[])
), graded AS (
    SELECT per_name.entity, per_name.rest,
           2 * count(DISTINCT own.key) FILTER (
               WHERE own.roles & $7 <> 0 AND own.key <> ALL($8::text[]))
           + CASE WHEN bool_or(own.roles & $9 <> 0 AND own.key ^@ ANY($10::text[])) THEN 0
                  ELSE 1 END AS quality
    FROM per_name JOIN own USING (entity, ordinal)
    GROUP BY per_name.entity, per_name.ordinal, per_name.rest
), t AS MATERIALIZED (
    SELECT graded.entity, min(graded.rest)::integer AS rest,
           (min(graded.quality) FILTER (WHERE graded.rest = 0))::integer AS quality,
           (count(*) FILTER (WHERE graded.rest = 0))::integer AS names_whole,
           count(*)::integer AS names
    FROM graded
    GROUP BY graded.entity
)
SELECT t.*, CASE WHEN (SELECT count(*) FROM t) > $15 THEN coalesce(
           (SELECT e.kind FROM rm_entities AS e WHERE e.generation = $1 AND e.entity = t.entity),
           '') END AS kind,
       NULL AS capped
FROM t
UNION ALL
SELECT x.entity, min(length(x.key) - length(f.lo))::integer, NULL, NULL, NULL, NULL,
       bool_or(x.read = $5)
FROM unnest($11::text[], $12::text[]) AS f (lo, hi)
CROSS JOIN LATERAL (
    SELECT k.entity, k.key, row_number() OVER () AS read FROM (
        SELECT k.entity, k.key FROM rm_name_keys AS k
        WHERE k.generation = $1 AND k.key >= f.lo AND k.key < f.hi AND k.roles & $13 <> 0
        LIMIT $5) AS k
) AS x
GROUP BY x.entity
"""
# The distinct keys near the query's keys: in the ranges of keys that begin like one ($2: the
# key itself, $3, $8: the range) or end like one (reversed keys: $4, $5, $9), among the words
# (where $6, or $10 for the reversed keys, is true) or the whole-name keys (false), each with
# the kind it was read among; the candidates of fuzzy matches, filtered by their
# distance in code. Read from the vocabulary (migration 0019), from the query's key outwards in
# both directions (the keys nearest it in code-point order share the longest beginning with
# it), at most $7 keys each way: each a range scan of one index.
DISTINCT_KEYS_NEAR = """
SELECT w.word, x.key
FROM unnest($2::text[], $3::text[], $8::text[], $6::boolean[]) AS w (at, lo, hi, word)
CROSS JOIN LATERAL (
    (SELECT v.key FROM rm_name_vocab AS v
     WHERE v.generation = $1 AND v.word = w.word AND v.key >= w.at AND v.key < w.hi
     ORDER BY v.key LIMIT $7)
    UNION ALL
    (SELECT v.key FROM rm_name_vocab AS v
     WHERE v.generation = $1 AND v.word = w.word AND v.key < w.at AND v.key >= w.lo
     ORDER BY v.key DESC LIMIT $7)
) AS x
UNION
SELECT w.word, reverse(x.rkey)
FROM unnest($4::text[], $5::text[], $9::text[], $10::boolean[]) AS w (at, lo, hi, word)
CROSS JOIN LATERAL (
    (SELECT v.rkey FROM rm_name_vocab AS v
     WHERE v.generation = $1 AND v.word = w.word AND v.rkey >= w.at AND v.rkey < w.hi
     ORDER BY v.rkey LIMIT $7)
    UNION ALL
    (SELECT v.rkey FROM rm_name_vocab AS v
     WHERE v.generation = $1 AND v.word = w.word AND v.rkey < w.at AND v.rkey >= w.lo
     ORDER BY v.rkey DESC LIMIT $7)
) AS x
"""
# The candidates of fuzzy matches, from the keys near the query's ($2: each for the word $3, $4
# edits away), in one round trip:
# - whole-name keys (word 0), among keys with one of the roles $8: the entities that have one
#   (at most $7 a key) (`whole`);
# - words (1 to $5), among keys with one of the roles $6: the entities with a name that has, for
#   each word, one of its keys. As in KEYS_IN_NAMES, the rarest word's entities (its rows: the
#   postings of its near keys in the vocabulary) first, only those the next rarest word's near
#   keys name too when it has fewer than $13 rows (one read of them, hashed), at most $7 of
#   them, the nearest first, then by id; each one's keys read once and met with the near keys
#   (a word of a common name has dozens of near keys: probing each entity for each of them was
#   most of a slow search).
# With the `cost` of the best name as `rank` counts a fuzzy match's quality: the edits its keys
# are away (the least for each word, summed) times $9, and for a match word by word, its core
# words ($11: role) other than the query's words ($12), at most $10 (a single word a typo away
# from `Inspur` is in a hundred names: only those with the fewest other words are ranked).
KEYS_EQUAL_WITH_EDITS = """
WITH near AS (
    SELECT * FROM unnest($2::text[], $3::integer[], $4::integer[]) AS n (key, word, edits)
), placed AS MATERIALIZED (
    SELECT w.word, row_number() OVER (ORDER BY c.rows, w.word) AS place, c.rows
    FROM generate_series(1, $5) AS w (word)
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(v.postings), 0) AS rows FROM near
        JOIN rm_name_vocab AS v ON v.generation = $1 AND v.word AND v.key = near.key
        WHERE near.word = w.word
    ) AS c
), second AS (
    SELECT placed.word FROM placed WHERE placed.place = 2 AND placed.rows < $13
), driver AS (
    SELECT x.entity FROM near CROSS JOIN LATERAL (
        SELECT k.entity FROM rm_name_keys AS k
        WHERE k.generation = $1 AND k.key = near.key AND k.roles & $6 <> 0
        LIMIT $7
    ) AS x
    WHERE near.word = (SELECT placed.word FROM placed WHERE placed.place = 1)
      AND (NOT EXISTS (SELECT 1 FROM second)
           OR x.entity IN (SELECT k.entity FROM second
                           JOIN near AS n2 ON n2.word = second.word
                           JOIN rm_name_keys AS k ON k.generation = $1 AND k.key = n2.key
                           WHERE k.roles & $6 <> 0))
    GROUP BY x.entity
    ORDER BY min(near.edits), x.entity
    LIMIT $7
)
SELECT d.entity, min(m.edits * $9 + least(x.extra, $10))::integer AS cost, false AS whole
FROM driver AS d
CROSS JOIN LATERAL (
    SELECT per_word.ordinal, sum(per_word.edits) AS edits
    FROM (
        SELECT own.ordinal, near.word, min(near.edits) AS edits
        FROM (SELECT k.ordinal, k.key FROM rm_name_keys AS k
              WHERE k.generation = $1 AND k.entity = d.entity AND k.roles & $6 <> 0
              OFFSET 0) AS own
        JOIN near ON near.key = own.key AND near.word > 0
        GROUP BY own.ordinal, near.word
    ) AS per_word
    GROUP BY per_word.ordinal
    HAVING count(*) = $5
) AS m
CROSS JOIN LATERAL (
    SELECT count(*) AS extra FROM rm_name_keys AS k
    WHERE k.generation = $1 AND k.entity = d.entity AND k.ordinal = m.ordinal
      AND k.roles & $11 <> 0 AND k.key <> ALL($12::text[])
) AS x
GROUP BY d.entity
UNION ALL
SELECT x.entity, min(near.edits)::integer * $9, true
FROM near CROSS JOIN LATERAL (
    SELECT k.entity FROM rm_name_keys AS k
    WHERE k.generation = $1 AND k.key = near.key AND k.roles & $8 <> 0
    LIMIT $7
) AS x
WHERE near.word = 0
GROUP BY x.entity
"""
# A search's transaction: one snapshot for all its stages, and settings for its lookups. They
# are index ranges whose bounds arrive as arrays, which the planner cannot see: it estimates a
# third of the table, so it plans parallel workers, bitmap scans of the table and JIT
# compilation, each costing more than the few index entries a range holds; and it plans each
# statement again, where the generic plan is as good. One round trip, before the first stage.
BEGIN_SEARCH = """
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL jit = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL plan_cache_mode = force_generic_plan;
"""
# The same settings within a caller's transaction.
SEARCH_SETTINGS = BEGIN_SEARCH.split(";", 1)[1]
# The candidates to rank: the entities $2, and for the first stage of a search the entity whose
# id is $5 and those with a whole-name key in $6 (of one of the roles $7, at most $8); of those,
# the ones that pass the filters ($3 kind, $4 country), each with its names (the name, as JSON,
# and a span it was borne, one element per span) and keys, as parallel arrays: all a candidate's
# ranking needs. With the generation read ($1, or the live one when null) on a row of its own
# when there is no candidate: the first stage is one round trip.
CANDIDATES_OF = """
WITH s AS (
    SELECT coalesce($1, r.live) AS live FROM rm_state AS r
), x AS (
    SELECT unnest($2::text[]) AS entity
    UNION
    SELECT e.entity FROM rm_entities AS e
    WHERE e.generation = (SELECT s.live FROM s) AND e.entity = $5
    UNION
    (SELECT k.entity FROM rm_name_keys AS k
     WHERE k.generation = (SELECT s.live FROM s) AND k.key = ANY($6::text[])
       AND k.roles & $7 <> 0
     LIMIT $8)
)
SELECT s.live, c.* FROM s LEFT JOIN LATERAL (
    SELECT e.entity, e.kind, e.country, e.names, e.aliases,
           n.ordinals AS name_ordinals, n.names AS name_texts, n.froms, n.tos,
           k.ordinals AS key_ordinals, k.roles, k.keys
    FROM x
    CROSS JOIN LATERAL (
        SELECT e.* FROM rm_entities AS e
        WHERE e.generation = s.live AND e.entity = x.entity
          AND ($3::text IS NULL OR e.kind = $3) AND ($4::text IS NULL OR e.country = $4)
        LIMIT 1
    ) AS e
    CROSS JOIN LATERAL (
        SELECT array_agg(n.ordinal) AS ordinals, array_agg(n.name) AS names,
               array_agg(n.valid_from) AS froms, array_agg(n.valid_to) AS tos
        FROM rm_entity_names AS n WHERE n.generation = e.generation AND n.entity = e.entity
    ) AS n
    CROSS JOIN LATERAL (
        SELECT array_agg(k.ordinal) AS ordinals, array_agg(k.roles) AS roles,
               array_agg(k.key) AS keys
        FROM rm_name_keys AS k WHERE k.generation = e.generation AND k.entity = e.entity
    ) AS k
) AS c ON true
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

_ENTITY_ID = re.compile(ENTITY_ID_PATTERN)
_EXACTLY = "\x01"  # keys hold letters, digits and marks only: [w, w + U+0001) is {w}
_ANY_REST = "\U0010ffff"


# ------------------------------------------------------------------ upkeep (projector, rebuild)


async def replace_names(conn: asyncpg.Connection, generation: int, folding: Folding) -> None:
    """Replace the stored names and keys of the entities whose names `folding` recomputed, and
    keep the vocabulary's postings: what these entities' keys gained and lost."""
    renamed = sorted(folding.records)
    if not renamed:
        return
    await conn.execute(DELETE_NAMES_OF, generation, renamed)
    held = _postings(await conn.fetch(DELETE_KEYS_OF, generation, renamed))
    names = folding.name_rows()
    if names:
        await conn.copy_records_to_table("rm_entity_names", records=names, columns=NAME_COLUMNS)
    rows = folding.name_key_rows()
    if rows:
        await conn.copy_records_to_table("rm_name_keys", records=rows, columns=KEY_COLUMNS)
    # A name kept as it was deletes and writes its keys again: only the difference is stored.
    now = _postings((r[3], r[4]) for r in rows)
    await _add_postings(conn, generation, now - held)
    lost = sorted((held - now).items())
    if lost:
        await conn.execute(
            DROP_POSTINGS,
            generation,
            [word for (word, _), _ in lost],
            [key for (_, key), _ in lost],
            [count for _, count in lost],
        )


async def write_keys(conn: asyncpg.Connection, generation: int, rows: Sequence[tuple]) -> None:
    """Store new rows of rm_name_keys (`KEY_COLUMNS`) of `generation` and their postings."""
    if rows:
        await conn.copy_records_to_table("rm_name_keys", records=rows, columns=KEY_COLUMNS)
        await _add_postings(conn, generation, _postings((r[3], r[4]) for r in rows))


def _postings(rows: Iterable[Sequence]) -> Counter[tuple[bool, str]]:
    """Postings by `(word, key)` of the vocabulary, from `(roles, key)` of rows of rm_name_keys:
    a key in a word role is a word; in a whole-name role, a whole-name key; in both, both."""
    out: Counter[tuple[bool, str]] = Counter()
    for roles, key in rows:
        if roles & ROLE_TOKEN:
            out[True, key] += 1
        if roles & ROLE_FORMS:
            out[False, key] += 1
    return out


async def _add_postings(
    conn: asyncpg.Connection, generation: int, gained: Counter[tuple[bool, str]]
) -> None:
    if gained:
        ordered = sorted(gained.items())
        await conn.execute(
            ADD_POSTINGS,
            generation,
            [word for (word, _), _ in ordered],
            [key for (_, key), _ in ordered],
            [key[::-1] for (_, key), _ in ordered],
            [count for _, count in ordered],
        )


async def clear(conn: asyncpg.Pool | asyncpg.Connection, generation: int) -> None:
    await conn.execute(CLEAR_NAMES, generation)
    await conn.execute(CLEAR_KEYS, generation)
    await conn.execute(CLEAR_VOCABULARY, generation)


async def drop_other(conn: asyncpg.Pool | asyncpg.Connection, generation: int) -> None:
    await conn.execute(DROP_OTHER_NAMES, generation)
    await conn.execute(DROP_OTHER_KEYS, generation)
    await conn.execute(DROP_OTHER_VOCABULARY, generation)


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


# A candidate of a stage: the entity and a lower bound of its score after the match's rank
# (`rank.Score`: quality, -names matching, kind order, id), as the stage's rows tell it: most
# often only the quality (`(quality,)`, below every score with that quality), where
# `rank.match_name` computes the quality itself from all the keys of a name; a lower bound
# needs only the keys that were looked up.
Bound = tuple[str, tuple]


def _ranges(word: str, exactly: bool) -> tuple[str, str]:
    return word, word + (_EXACTLY if exactly else _ANY_REST)


def _min_prefix(key: str) -> int:
    return 1 if is_han(key[:1]) else 2


def _fuzzy_piece(length: int, edits: int) -> int:
    """Characters at the start (or the end) of a key that a match within `edits` edits keeps
    intact on at least one side. With one edit and 5 characters or more, always: the edit (a
    swap of two neighbours included) touches at most one of the first and the last
    `(length - 1) // 2` characters. Otherwise most of the time: half of what the edits leave,
    two at least (a 4-character key's pieces of 2 miss a swap of its middle two)."""
    if edits == 1:
        return max(2, (length - 1) // 2)
    return max(2, (length - 2 * edits) // 2)


@contextlib.asynccontextmanager
async def _serial(conn: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a read-only REPEATABLE READ transaction (one snapshot for every stage)
    with the settings of `BEGIN_SEARCH`."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as held, _snapshot(held):
            yield held
    else:
        async with _snapshot(conn):
            yield conn


@contextlib.asynccontextmanager
async def _snapshot(conn: asyncpg.Connection) -> AsyncIterator[None]:
    if conn.is_in_transaction():
        # Within a caller's transaction (a savepoint), its snapshot is the one there is.
        async with conn.transaction():
            await conn.execute(SEARCH_SETTINGS)
            yield
        return
    await conn.execute(BEGIN_SEARCH)
    try:
        yield
    except BaseException:
        # A connection that cannot roll back is broken: the pool closes it on release.
        with contextlib.suppress(Exception):
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


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
    async with _serial(conn) as held:
        return await _search(
            held, text, day, kind, country, limit, after, known_at=known_at, store=store
        )


async def _search(
    conn: asyncpg.Connection,
    text: str,
    day: _dt.date,
    kind: str | None,
    country: str | None,
    limit: int,
    after: Sequence[object] | None,
    *,
    known_at: _dt.datetime | None,
    store: EventStore | None,
) -> tuple[list[Hit], list | None]:
    q = make_query(text)
    keys = q.keys
    cut = tuple(after) if after is not None else None
    found = _Found()
    needed = limit + 1

    def settled(upto_rank: int, bound: tuple | None) -> bool:
        """Whether the page is known: `needed` results after the cut that rank at `upto_rank`
        or better, the last of them better than any candidate of that rank not ranked yet
        (whose score after the rank is `bound` or more; None: there is none)."""
        scores = sorted(
            ranked.score
            for ranked, _, _ in found.ranked.values()
            if ranked.score[0] <= upto_rank and (cut is None or ranked.score > cut)
        )
        if len(scores) < needed:
            return False
        last = scores[needed - 1]
        return bound is None or last[0] < upto_rank or last[1:] < bound

    async def rank_new(entities: Iterable[str]) -> None:
        new = sorted(set(entities) - found.seen)
        if not new:
            return
        found.seen.update(new)
        await _rank(conn, generation, q, new, day, kind, country, known_at, store, found)

    async def rank_in_order(bounds: list[Bound], upto_rank: int) -> bool:
        """Rank candidates best bound first, a chunk at a time, until the page is known."""
        pending = sorted((b for b in bounds if b[0] not in found.seen), key=lambda b: (b[1], b[0]))
        done = 0
        while done < len(pending):
            size = needed + CHUNK if done == 0 else done
            await rank_new(entity for entity, _ in pending[done : done + size])
            done += size
            if settled(upto_rank, pending[done][1] if done < len(pending) else None):
                return True
        return settled(upto_rank, None)

    forms = sorted(keys.exact | keys.core | keys.latin)
    required = sorted(keys.core_tokens or keys.tokens)

    # 1. id and whole-name keys, and their candidates' rows
    generation = await _rank(
        conn,
        None,
        q,
        [],
        day,
        kind,
        country,
        known_at,
        store,
        found,
        first=(
            q.id_key if _ENTITY_ID.fullmatch(q.id_key) else None,
            forms,
        ),
    )
    if settled(MATCH_KINDS.index("transliteration"), None):
        return _page(found, cut, limit)
    # 2. every word, whole; 3. prefixes of the whole name or of every word: one lookup
    starts = [_ranges(s, False) for s in sorted(keys.exact | keys.core) if len(s) >= _min_prefix(s)]
    hits = await _in_names(conn, generation, required, keys, starts) if starts or required else []
    if required:
        words = [
            (r["entity"], _tie_broken(r, r["quality"], r["names_whole"], known_at))
            for r in hits
            if r["quality"] is not None
        ]
        if await rank_in_order(words, MATCH_KINDS.index("tokens")):
            return _page(found, cut, limit)
    elif settled(MATCH_KINDS.index("tokens"), None):
        return _page(found, cut, limit)
    if await rank_in_order(_prefix_bounds(hits, known_at), MATCH_KINDS.index("prefix")):
        return _page(found, cut, limit)
    # 4. fuzzy
    await rank_in_order(
        await _fuzzy(conn, generation, sorted(keys.core | keys.latin), required),
        MATCH_KINDS.index("fuzzy"),
    )
    return _page(found, cut, limit)


def _prefix_bounds(hits: Sequence[asyncpg.Record], known_at: _dt.datetime | None) -> list[Bound]:
    """Bounds of prefix matches from the rows of `KEYS_IN_NAMES`. An entity with a name that has
    every word as a prefix, and no whole-name key in a prefix range: its prefix quality is the
    least `rest` of those names, and as many names match (or fewer, on an earlier day). One
    with a whole-name key there (or any, when a range held more keys than were read) may have
    other names that match: only its `rest` bounds it."""
    whole = {r["entity"] for r in hits if r["capped"] is not None}
    capped = any(r["capped"] for r in hits)
    bounds: list[Bound] = []
    for r in hits:
        if capped or r["entity"] in whole:
            bounds.append((r["entity"], (r["rest"],)))
        else:
            bounds.append((r["entity"], _tie_broken(r, r["rest"], r["names"], known_at)))
    return bounds


def _tie_broken(
    row: asyncpg.Record, quality: int, names: int, known_at: _dt.datetime | None
) -> tuple:
    """A bound of quality `quality` with at most `names` names matching: with the entity's kind
    and id when the lookup gave its kind (`KINDS_BEYOND`), a bound that breaks ties. Not at a
    `known_at`: the names are then those the log knew, which the index may no longer hold (a
    name since corrected away), so the index's count bounds nothing."""
    if known_at is not None:
        return (quality,)
    if row["kind"] is None:
        return (quality, -names)
    return (quality, -names, kind_order(row["kind"]), row["entity"])


def _page(found: _Found, cut: tuple | None, limit: int) -> tuple[list[Hit], list | None]:
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


async def _in_names(
    conn: asyncpg.Connection,
    generation: int,
    words: list[str],
    keys: NameKeys,
    starts: Sequence[tuple[str, str]],
) -> list[asyncpg.Record]:
    """The entities with a name that has a word beginning with each of `words`, with `rest`,
    `quality`, `names_whole`, `names` and `kind`; and those with a whole-name key in one of the
    ranges `starts`, with `rest` and `capped` (`KEYS_IN_NAMES`)."""
    pairs = [_ranges(w, False) for w in words]
    return await conn.fetch(
        KEYS_IN_NAMES,
        generation,
        [lo for lo, _ in pairs],
        [hi for _, hi in pairs],
        ROLE_TOKEN,
        CANDIDATES,
        SUMMED_KEYS,
        ROLE_CORE_TOKEN,
        sorted(keys.tokens),
        ROLE_EXACT,
        sorted(keys.exact),
        [lo for lo, _ in starts],
        [hi for _, hi in starts],
        ROLE_FORMS,
        READ_OVER_PROBES,
        KINDS_BEYOND,
    )


async def _fuzzy(
    conn: asyncpg.Connection, generation: int, cores: list[str], required: list[str]
) -> list[Bound]:
    """Candidates for fuzzy matches: entities with a whole-name key within the allowed edits of
    one of the query's, or with every query word within its allowed edits of a word. Keys that
    begin or end like the query's (the part a few edits most likely leave intact) are read
    from the vocabulary, those near enough kept (`OSA` distance, as `rank` counts it), and the
    entities that have them looked up. Bounded by `rank`'s quality for their edits."""
    # Whole-name keys without their legal forms: names share those (every other Chinese name
    # ends in 有限公司), so the ends of the keys with them point at half the index.
    targets = [(key, allowed_edits(len(key)), False) for key in cores if allowed_edits(len(key))]
    words = [(word, allowed_edits(len(word)), True) for word in required]
    if not any(allowed for _, allowed, _ in words):
        words = []
    if not targets and not words:
        return []
    near = await _near_keys(conn, generation, targets + words)
    # Whole-name keys are word 0, the query's words 1 to n.
    keyed = [(key, max(0, i - len(targets) + 1), edits) for key, i, edits in near]
    rows = await conn.fetch(
        KEYS_EQUAL_WITH_EDITS,
        generation,
        [key for key, _, _ in keyed],
        [word for _, word, _ in keyed],
        [edits for _, _, edits in keyed],
        len(words),
        ROLE_TOKEN,
        FUZZY_CANDIDATES,
        ROLE_FORMS,
        FUZZY_EDIT,
        FUZZY_WORDWISE - 1,
        ROLE_CORE_TOKEN,
        required,
        CANDIDATES,
    )
    return [(r["entity"], (r["cost"] + (0 if r["whole"] else FUZZY_WORDWISE),)) for r in rows]


async def _near_keys(
    conn: asyncpg.Connection, generation: int, targets: list[tuple[str, int, bool]]
) -> list[tuple[str, int, int]]:
    """`(key, target index, edits)` for every indexed key within the allowed edits of a target
    `(text, allowed edits, a word: else a whole-name key)`, among the keys of its kind; a
    target allowing none only meets itself."""
    heads: list[tuple[str, str, str, bool]] = []
    tails: list[tuple[str, str, str, bool]] = []
    for text, allowed, word in targets:
        if not allowed:
            heads.append((text, *_ranges(text, True), word))
            continue
        piece = _fuzzy_piece(len(text), allowed)
        heads.append((text, *_ranges(text[:piece], False), word))
        tails.append((text[::-1], *_ranges(text[::-1][:piece], False), word))
    rows = await conn.fetch(
        DISTINCT_KEYS_NEAR,
        generation,
        [at for at, _, _, _ in heads],
        [lo for _, lo, _, _ in heads],
        [at for at, _, _, _ in tails],
        [lo for _, lo, _, _ in tails],
        [word for _, _, _, word in heads],
        DISTINCT_KEYS,
        [hi for _, _, hi, _ in heads],
        [hi for _, _, hi, _ in tails],
        [word for _, _, _, word in tails],
    )
    read: dict[bool, list[str]] = {True: [], False: []}
    for row in rows:
        read[row["word"]].append(row["key"])
    near: list[tuple[str, int, int]] = []
    for i, (text, allowed, word) in enumerate(targets):
        if not allowed:
            near.extend((key, i, 0) for key in read[word] if key == text)
            continue
        # One pass in C over the keys read (a long query reads hundreds, for dozens of targets).
        found = process.extract(
            text, read[word], scorer=OSA.distance, score_cutoff=allowed, limit=None
        )
        near.extend((key, i, int(edits)) for key, edits, _ in found)
    return near


async def _rank(
    conn: asyncpg.Pool | asyncpg.Connection,
    generation: int | None,
    q: Query,
    entities: list[str],
    day: _dt.date,
    kind: str | None,
    country: str | None,
    known_at: _dt.datetime | None,
    store: EventStore | None,
    found: _Found,
    *,
    first: tuple[str | None, list[str]] | None = None,
) -> int:
    """Score `entities` for the query on `day` and keep those that match and pass the filters;
    `first`: also the entity with that id and those with one of those whole-name keys (the
    first stage: `generation` is then read). Returns the generation."""
    by_id, forms = first if first is not None else (None, [])
    rows = await conn.fetch(
        CANDIDATES_OF, generation, entities, kind, country, by_id, forms, ROLE_FORMS, CANDIDATES
    )
    generation = rows[0]["live"]
    records = {r["entity"]: r for r in rows if r["entity"] is not None}
    if first is not None:
        entities = sorted(set(records) - found.seen)
        found.seen.update(entities)
    entities = [e for e in entities if e in records]
    if not entities:
        return generation
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
        for entity in entities:
            r = records[entity]
            borne: dict[int, list] = {}
            for ordinal, name, start, end in zip(
                r["name_ordinals"] or (),
                r["name_texts"] or (),
                r["froms"] or (),
                r["tos"] or (),
                strict=True,
            ):
                borne.setdefault(ordinal, [name, []])[1].append((start, end))
            spans[entity] = [
                NameSpan(
                    ordinal=ordinal,
                    name=msgspec.json.decode(bytes(name), type=str),
                    spans=tuple(sorted(held)),
                )
                for ordinal, (name, held) in borne.items()
            ]
            rows_of: dict[int, list[tuple[int, str]]] = {}
            for ordinal, roles, key in zip(
                r["key_ordinals"] or (), r["roles"] or (), r["keys"] or (), strict=True
            ):
                rows_of.setdefault(ordinal, []).append((roles, key))
            keys[entity] = {o: keys_from_rows(found_rows) for o, found_rows in rows_of.items()}
    for entity in entities:
        if not spans[entity]:
            continue
        seen: FormerAware = candidate_on(
            entity, records[entity]["kind"], spans[entity], keys[entity], day
        )
        ranked = score(q, seen.candidate)
        if ranked is not None:
            found.ranked[entity] = (ranked, seen.former, records[entity])
    return generation


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
