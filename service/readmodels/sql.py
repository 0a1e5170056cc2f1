"""The read models' tables (migrations 0004, 0005, 0012, 0015): constants and the SQL that
owns them."""

from __future__ import annotations

from service.eventlog.store import SELECT_RECORDED

PROJECTION_VERSION = 5  # 2: only changed rows are closed and reopened; 3: designations;
# 4: name search (migration 0014); 5: Han transliteration keys without province or city words
PROJECTOR_LOCK_KEY = 0x726D_5F70_726F_6A  # "rm_proj"
PAGE = 2000


LOCK = "SELECT pg_advisory_xact_lock($1)"
STATE = "SELECT live, position, version FROM rm_state"
SET_POSITION = "UPDATE rm_state SET position = $1"
FLIP = "UPDATE rm_state SET live = $1, position = $2, version = $3"
EVENTS_AFTER = f"{SELECT_RECORDED} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
REST_OF_GROUP = (
    f"{SELECT_RECORDED} FROM events WHERE position > $1 AND recorded_at = $2 ORDER BY position"
)
# Built once from constants; values are always $n parameters. The entities' own streams and
# the streams of every rule that names one of them, up to the checkpoint $2.
FACTS_OF = f"""
{SELECT_RECORDED} FROM events
WHERE position <= $2
  AND entity = ANY($1::text[] || ARRAY(
        SELECT DISTINCT e.entity FROM event_refs r JOIN events e ON e.position = r.position
        WHERE r.ref = ANY($1::text[]) AND r.position <= $2 AND e.type = 'RuleIssued'
  ))
ORDER BY position
"""  # noqa: S608
TARGETS_OF_RULES = """
SELECT DISTINCT r.ref FROM event_refs r JOIN events e ON e.position = r.position
WHERE e.entity = ANY($1::text[]) AND e.type = 'RuleIssued' AND r.position <= $2
  AND r.field LIKE 'targets%'
"""
CURRENT_ROWS_OF = """
SELECT entity, aspect, key, valid_from, valid_to, present, body FROM rm_items
WHERE generation = $1 AND entity = ANY($2::text[]) AND recorded_to = 'infinity'
"""
# A current row is identified by (entity, aspect, key, valid_from): an item's segments do
# not overlap in world time.
# The entities' current rows are found by `rm_items_current` (generation, entity) first, then
# matched in memory and updated by ctid. Matched directly, the planner looked each row up by
# `rm_items_by_key` (generation, aspect, key, ...) and filtered the entity: every company with
# a current row of the same list and day read per row closed (~480 at 1M events), and closing
# the rows of 1,000 appended events took 10-28 s at 1M instead of 0.4 s.
CLOSE_ROWS_OF = """
WITH current AS MATERIALIZED (
    SELECT ctid AS row_id, entity, aspect, key, valid_from FROM rm_items
    WHERE generation = $1 AND entity = ANY($2::text[]) AND recorded_to = 'infinity'
)
UPDATE rm_items AS i SET recorded_to = c.recorded_to
FROM current
JOIN unnest($2::text[], $3::text[], $4::text[], $5::date[], $6::timestamptz[])
    AS c (entity, aspect, key, valid_from, recorded_to)
    ON current.entity = c.entity AND current.aspect = c.aspect AND current.key = c.key
   AND current.valid_from = c.valid_from
WHERE i.ctid = current.row_id AND i.recorded_to = 'infinity'
"""
UPSERT_ENTITIES = """
INSERT INTO rm_entities (generation, entity, kind, country, names, aliases)
SELECT * FROM unnest(
    $1::integer[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[]
)
ON CONFLICT (generation, entity) DO UPDATE SET
    kind = excluded.kind, country = excluded.country, names = excluded.names,
    aliases = excluded.aliases
"""
ITEM_COLUMNS = (
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
ENTITY_COLUMNS = ("generation", "entity", "kind", "country", "names", "aliases")
DROP_OTHER_ITEMS = "DELETE FROM rm_items WHERE generation <> $1"
DROP_OTHER_ENTITIES = "DELETE FROM rm_entities WHERE generation <> $1"
CLEAR_ITEMS = "DELETE FROM rm_items WHERE generation = $1"
CLEAR_ENTITIES = "DELETE FROM rm_entities WHERE generation = $1"

# The day is passed as text: asyncpg sends date.max and date.min as PostgreSQL's 'infinity' and
# '-infinity', which is what the open ends of rows are stored as, so 9999-12-31 compared as a
# date would be outside every row (`infinity < infinity`). As text it is the calendar's day.
HOLDS_ON = "valid_from <= {day}::text::date AND {day}::text::date < valid_to"
MEMBERS_NOW = f"""
SELECT entity, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND aspect = 'listing' AND key = $1
  AND recorded_to = 'infinity' AND present AND {HOLDS_ON.format(day="$2")}
ORDER BY entity
"""  # noqa: S608
MEMBERS_AT = f"""
SELECT entity, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND aspect = 'listing' AND key = $1
  AND recorded_to > $3 AND recorded_from <= $3 AND {HOLDS_ON.format(day="$2")}
  AND present
ORDER BY entity
"""  # noqa: S608
ITEMS_ON_NOW = f"""
SELECT entity, aspect, key, present, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state)
  AND recorded_to = 'infinity' AND {HOLDS_ON.format(day="$1")}
"""  # noqa: S608
ITEMS_ON_AT = f"""
SELECT entity, aspect, key, present, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state)
  AND recorded_to > $2 AND recorded_from <= $2 AND {HOLDS_ON.format(day="$1")}
"""  # noqa: S608
CHECKPOINT = "SELECT position FROM rm_state"
ANALYZE = (
    "SELECT rm_analyze()"  # the owner's function (migration 0013): the runtime role owns no table
)
VERSION = "SELECT version FROM rm_state"
LIVE = "SELECT live FROM rm_state"

# Entities set aside by the projector (migration 0012).
QUARANTINED = "SELECT entity FROM rm_quarantine WHERE generation = $1"
QUARANTINE = """
INSERT INTO rm_quarantine (generation, entity, position, error) VALUES ($1, $2, $3, $4)
ON CONFLICT (generation, entity) DO NOTHING
"""
QUARANTINED_LIVE = """
SELECT entity, position, error FROM rm_quarantine
WHERE generation = (SELECT live FROM rm_state)
ORDER BY position, entity
"""
CLEAR_QUARANTINE = "DELETE FROM rm_quarantine WHERE generation = $1"
DROP_OTHER_QUARANTINE = "DELETE FROM rm_quarantine WHERE generation <> $1"
DROP_ITEMS_OF = "DELETE FROM rm_items WHERE generation = $1 AND entity = ANY($2::text[])"

# A rebuild's partitions already written (migration 0015).
REBUILD_PARTITIONS = """
SELECT partitions, upto, array_agg(partition) AS done FROM rm_rebuild_partitions
WHERE generation = $1 GROUP BY partitions, upto
"""
REBUILD_PARTITION_DONE = """
INSERT INTO rm_rebuild_partitions (generation, partitions, upto, partition)
VALUES ($1, $2, $3, $4)
"""
CLEAR_REBUILD_PARTITIONS = "DELETE FROM rm_rebuild_partitions WHERE generation = $1"
EVENT_COUNT = "SELECT count(*) FROM events WHERE position <= $1"
# Every entity that has rows up to $1: those with a stream, and the companies rules name.
ENTITIES_UPTO = """
SELECT entity FROM events WHERE position <= $1
UNION
SELECT r.ref FROM event_refs r JOIN events e ON e.position = r.position
WHERE e.type = 'RuleIssued' AND r.field LIKE 'targets%' AND r.position <= $1
"""

# Members and changes a page at a time, or streamed: keyset on the entity, in code-point order
# (COLLATE "C", as Python sorts), from after $3 ('' for the first page), at most $4 (NULL: all).
_MEMBERS_PAGE = """
SELECT entity, body FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND aspect = 'listing' AND key = $1
  AND {holds} AND present AND {known}
  AND entity COLLATE "C" > $3
ORDER BY entity COLLATE "C"
LIMIT $4
"""
_KNOWN_NOW = "recorded_to = 'infinity'"
_KNOWN_AT = "recorded_to > $5 AND recorded_from <= $5"
MEMBERS_PAGE_NOW = _MEMBERS_PAGE.format(known=_KNOWN_NOW, holds=HOLDS_ON.format(day="$2"))
MEMBERS_PAGE_AT = _MEMBERS_PAGE.format(known=_KNOWN_AT, holds=HOLDS_ON.format(day="$2"))
_MEMBERS_COUNT = """
SELECT count(*) FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND aspect = 'listing' AND key = $1
  AND {holds} AND present AND {known}
"""
MEMBERS_COUNT_NOW = _MEMBERS_COUNT.format(known=_KNOWN_NOW, holds=HOLDS_ON.format(day="$2"))
MEMBERS_COUNT_AT = _MEMBERS_COUNT.format(
    known="recorded_to > $3 AND recorded_from <= $3", holds=HOLDS_ON.format(day="$2")
)
# Members per programme: an entity counts under each programme it has an open designation of
# (the designations of the listing's body; a listing without them has only the unnamed one, of
# no programme), once however many designations it has there. What `member_of` says, in SQL.
_MEMBERS_BY_PROGRAM = """
SELECT d.program, count(DISTINCT i.entity) AS members
FROM rm_items AS i
CROSS JOIN LATERAL jsonb_to_recordset(convert_from(i.body, 'UTF8')::jsonb -> 'designations')
    AS d(program text)
WHERE i.generation = (SELECT live FROM rm_state) AND i.aspect = 'listing' AND i.key = $1
  AND {holds} AND i.present AND {known} AND d.program IS NOT NULL
GROUP BY d.program
"""
MEMBERS_BY_PROGRAM_NOW = _MEMBERS_BY_PROGRAM.format(
    known=_KNOWN_NOW, holds=HOLDS_ON.format(day="$2")
)
MEMBERS_BY_PROGRAM_AT = _MEMBERS_BY_PROGRAM.format(
    known="recorded_to > $3 AND recorded_from <= $3", holds=HOLDS_ON.format(day="$2")
)
# Every item on either day, entity by entity from $3 on (inclusive: a page may end inside an
# entity's changes), with the day(s) it holds on.
_ITEMS_ON_EITHER = """
SELECT entity, aspect, key, present, body,
    {on_from} AS on_from,
    {on_to} AS on_to
FROM rm_items
WHERE generation = (SELECT live FROM rm_state) AND {known}
  AND (({on_from}) OR ({on_to}))
  AND entity COLLATE "C" >= $3
ORDER BY entity COLLATE "C"
"""
ITEMS_ON_EITHER_NOW = _ITEMS_ON_EITHER.format(
    known=_KNOWN_NOW, on_from=HOLDS_ON.format(day="$1"), on_to=HOLDS_ON.format(day="$2")
)
ITEMS_ON_EITHER_AT = _ITEMS_ON_EITHER.format(
    known="recorded_to > $4 AND recorded_from <= $4",
    on_from=HOLDS_ON.format(day="$1"),
    on_to=HOLDS_ON.format(day="$2"),
)
