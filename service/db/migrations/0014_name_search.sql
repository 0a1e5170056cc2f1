-- Name search (kept by service/readmodels/projector.py and rebuild.py, read by
-- service/readmodels/search.py; the keys are projections/names, see docs/name-search.md).
--
-- rm_entity_names holds every name and alias an entity was ever registered under, as JSON (any
-- text, NUL included), with the world-time spans [valid_from, valid_to) over which it bore it:
-- one row per span. rm_name_keys holds the normalised keys of each name, one row per distinct
-- key, with a bit mask of the roles the key plays (1 exact, 2 core, 4 transliteration, 8 word,
-- 16 core word) and the key reversed. Keys are compared in code-point order (COLLATE "C"), so a
-- prefix is a range of the btree index: exact, word and prefix lookups are index scans, and
-- fuzzy candidates come from prefix ranges of the key and of the reversed key. Rows carry the
-- generation of the read models, like rm_entities, and are swapped with it.

CREATE TABLE rm_entity_names (
    generation  integer NOT NULL,
    entity      text    NOT NULL,
    ordinal     integer NOT NULL,
    name        bytea   NOT NULL,
    valid_from  date    NOT NULL,
    valid_to    date    NOT NULL,
    PRIMARY KEY (generation, entity, ordinal, valid_from),
    CHECK (valid_from < valid_to)
);

CREATE TABLE rm_name_keys (
    generation  integer NOT NULL,
    entity      text    NOT NULL,
    ordinal     integer NOT NULL,
    roles       integer NOT NULL,
    key         text    COLLATE "C" NOT NULL,
    rkey        text    COLLATE "C" NOT NULL,
    CHECK (roles > 0 AND key <> '')
);
CREATE INDEX rm_name_keys_key ON rm_name_keys (generation, key) INCLUDE (roles, entity);
CREATE INDEX rm_name_keys_rkey ON rm_name_keys (generation, rkey) INCLUDE (roles, entity);
CREATE INDEX rm_name_keys_entity ON rm_name_keys (generation, entity);
