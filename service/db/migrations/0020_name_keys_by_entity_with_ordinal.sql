-- Name search: an entity's keys with the name (ordinal) each belongs to, from the index alone.
--
-- A whole-word search tells the quality of each candidate's match before ranking it (the
-- words of the one name that has all the query's words: service/readmodels/search.py,
-- KEYS_IN_NAMES and KEYS_EQUAL_WITH_EDITS), so that of hundreds of names with every word only
-- the best are ranked; it reads each candidate's keys by name. The index gains the ordinal, so that stays an index-only
-- scan. It replaces the index of 0016.
CREATE INDEX rm_name_keys_entity_key_ordinal ON rm_name_keys (generation, entity, key)
    INCLUDE (roles, ordinal);
DROP INDEX rm_name_keys_entity_key;
ALTER INDEX rm_name_keys_entity_key_ordinal RENAME TO rm_name_keys_entity_key;
