-- Name search: how many rows of rm_name_keys each key of the vocabulary has (its postings, as
-- an inverted index calls them), kept beside it (service/readmodels/search.py).
--
-- A lookup of several words reads the rows of its rarest word and checks the others only for
-- those entities. It chose the rarest by counting each word's rows in rm_name_keys, up to
-- 2,000 each: for a name of common words (`Abdullah Hamad Mohammad Karim`, `Abd Al-Haq`) the
-- counting was most of the lookup. A word's rows are now the sum of its keys' postings here:
-- one entry for a whole word, a few for a prefix. Knowing how many rows the next rarest word
-- has also tells when reading them all is cheaper than probing each candidate for it.
-- `postings` counts rows in the row's kind (a word: role 8; a whole name: roles 1, 2, 4); a
-- row is in the vocabulary while it is above zero.
ALTER TABLE rm_name_vocab ADD COLUMN postings integer NOT NULL DEFAULT 0;

UPDATE rm_name_vocab AS v SET postings = c.postings
FROM (
    SELECT generation, true AS word, key, count(*) AS postings
    FROM rm_name_keys WHERE roles & 8 <> 0 GROUP BY generation, key
    UNION ALL
    SELECT generation, false AS word, key, count(*) AS postings
    FROM rm_name_keys WHERE roles & 7 <> 0 GROUP BY generation, key
) AS c
WHERE v.generation = c.generation AND v.word = c.word AND v.key = c.key;

-- A key no name has any longer (none should be: the upkeep removes them) goes.
DELETE FROM rm_name_vocab WHERE postings = 0;
ALTER TABLE rm_name_vocab ALTER COLUMN postings DROP DEFAULT;
ALTER TABLE rm_name_vocab ADD CONSTRAINT rm_name_vocab_postings CHECK (postings > 0);
