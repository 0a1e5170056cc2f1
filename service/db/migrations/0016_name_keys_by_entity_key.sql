-- Name search: an entity's keys in key order (read by service/readmodels/search.py).
--
-- A search for several words finds the entities of its rarest word first, then checks each of
-- them for the other words: one probe of this index per entity and word, instead of reading
-- every row of every word (a common word, `al` or `limited`, has a row in a good part of the
-- index). It replaces the index on (generation, entity), which it covers.
CREATE INDEX rm_name_keys_entity_key ON rm_name_keys (generation, entity, key) INCLUDE (roles);
DROP INDEX rm_name_keys_entity;
