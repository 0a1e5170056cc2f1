-- Entities the projector could not project (kept by service/readmodels/projector.py).
--
-- One poison event (one that cannot be decoded, folded or written) must not stop the whole
-- read side: the projector sets the entity it belongs to aside here, with the position of the
-- event at which it failed and the error, and keeps projecting every other entity. Rows carry
-- the generation of the read models they belong to: a rebuild tries every entity again, and
-- its generation starts with no entity set aside unless it fails again.

CREATE TABLE rm_quarantine (
    generation  integer     NOT NULL,
    entity      text        NOT NULL,
    position    bigint      NOT NULL,
    error       text        NOT NULL,
    noted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation, entity)
);
