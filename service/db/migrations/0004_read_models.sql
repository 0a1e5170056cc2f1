-- Read models for cross-entity questions, kept by the projector (service/readmodels.py).
--
-- rm_items holds, per entity and item, world-time ranges [valid_from, valid_to) over which the
-- item is constant, stamped with the transaction-time range [recorded_from, recorded_to) over
-- which that was the log's knowledge ('infinity' while current). "Who was on list L as of
-- (D, K)" is one indexed lookup. Rows carry the generation that wrote them: a rebuild writes
-- generation g+1 beside the live one and flips `rm_state.live` in one transaction, so readers
-- never see a half-built model.

CREATE TABLE rm_state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    live       integer NOT NULL,
    position   bigint  NOT NULL,
    version    integer NOT NULL
);
INSERT INTO rm_state (live, position, version) VALUES (1, 0, 0);

CREATE TABLE rm_items (
    generation     integer     NOT NULL,
    entity         text        NOT NULL,
    aspect         text        NOT NULL,
    key            text        NOT NULL,
    valid_from     date        NOT NULL,
    valid_to       date        NOT NULL,
    recorded_from  timestamptz NOT NULL,
    recorded_to    timestamptz NOT NULL DEFAULT 'infinity',
    present        boolean     NOT NULL,
    body           bytea       NOT NULL,
    CHECK (valid_from < valid_to),
    CHECK (recorded_from <= recorded_to)
);

-- members of a list, at now (recorded_to = infinity) or at a past K (recorded_to > K)
CREATE INDEX rm_items_by_key ON rm_items (generation, aspect, key, recorded_to, valid_from);
-- changes between two dates, over every entity
CREATE INDEX rm_items_by_time ON rm_items (generation, recorded_to, valid_from);
-- the projector's "current rows of this entity"
CREATE INDEX rm_items_current ON rm_items (generation, entity) WHERE recorded_to = 'infinity';

-- Entities as they are known now, for search by any name or alias in any language.
CREATE TABLE rm_entities (
    generation  integer NOT NULL,
    entity      text    NOT NULL,
    kind        text,
    country     text,
    names       bytea   NOT NULL,
    aliases     bytea   NOT NULL,
    search      text    NOT NULL,
    PRIMARY KEY (generation, entity)
);
CREATE INDEX rm_entities_kind ON rm_entities (generation, kind);

-- "the last position known at K" (answers at a past known_at wait for the projector to reach it)
CREATE INDEX events_recorded_at ON events (recorded_at);
