-- rm_entities.search held every name and alias of an entity as one normalised text, for the
-- substring search that came before the name keys (0014). Search reads rm_entity_names and
-- rm_name_keys only, so the column was written on every projected entity and read by nothing.
ALTER TABLE rm_entities DROP COLUMN search;
