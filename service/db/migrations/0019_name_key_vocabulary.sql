-- Name search: the distinct keys of rm_name_keys, words apart from whole names (kept by
-- service/readmodels/search.py beside rm_name_keys, read by its fuzzy lookups).
--
-- A fuzzy lookup reads the distinct keys nearest a query's key in code-point order, from the
-- key and from the reversed key: the words nearest a query word, or the whole-name keys nearest
-- a whole name. In rm_name_keys a word is a row of every name that has it, and whole names lie
-- between the words, so those keys were found one index probe each (a skip scan written as a
-- recursive query) past whatever lay between. Here each kind is a list of its own (`word`: the
-- key is a word of some name, role 8 of rm_name_keys; otherwise a whole-name key, roles 1, 2
-- and 4), and twenty neighbours are one range scan. A key that is both has a row of each kind.
-- A row is added when a name first has the key in that kind and removed when none has it.

CREATE TABLE rm_name_vocab (
    generation  integer NOT NULL,
    word        boolean NOT NULL,
    key         text    COLLATE "C" NOT NULL,
    rkey        text    COLLATE "C" NOT NULL,
    PRIMARY KEY (generation, word, key),
    CHECK (key <> '')
);
CREATE INDEX rm_name_vocab_rkey ON rm_name_vocab (generation, word, rkey);

INSERT INTO rm_name_vocab (generation, word, key, rkey)
SELECT DISTINCT generation, true, key, rkey FROM rm_name_keys WHERE roles & 8 <> 0
UNION
SELECT DISTINCT generation, false, key, rkey FROM rm_name_keys WHERE roles & 7 <> 0;
