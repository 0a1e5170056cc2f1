-- Partitions of a read-model rebuild already written (kept by service/readmodels/rebuild.py).
--
-- A rebuild folds the log in entity partitions and writes each one's rows, with its row here,
-- in one transaction. A rebuild that is killed and started again finds the generation it was
-- building, the log position it was building up to and the number of partitions here, and folds
-- only the partitions not yet written. The rows go when the new generation is swapped in.

CREATE TABLE rm_rebuild_partitions (
    generation  integer     NOT NULL,
    partitions  integer     NOT NULL,
    upto        bigint      NOT NULL,
    partition   integer     NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation, partition)
);

-- A list's members a page at a time: the index yields them in entity order (code points, as
-- the keyset cursor compares them), so a page reads its own rows, not the whole list.
CREATE INDEX rm_items_members ON rm_items (generation, aspect, key, entity COLLATE "C", recorded_to);
