-- The event log. Append-only, enforced here in the database and not only in Python.

CREATE TABLE events (
    position        bigint      PRIMARY KEY CHECK (position > 0),
    id              uuid        NOT NULL UNIQUE,
    entity          text        NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version > 0),
    occurred        text        NOT NULL,
    occurred_start  date        NOT NULL,
    occurred_end    date        NOT NULL CHECK (occurred_end > occurred_start),
    precision       text        NOT NULL CHECK (precision IN ('year', 'month', 'day')),
    recorded_at     timestamptz NOT NULL,
    payload         bytea       NOT NULL,
    prev_hash       bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash            bytea       NOT NULL CHECK (length(hash) = 32)
);

CREATE INDEX events_entity_position ON events (entity, position);
CREATE INDEX events_type_position ON events (type, position);
CREATE INDEX events_registrations ON events (entity) WHERE type = 'EntityRegistered';

-- UPDATE, DELETE and TRUNCATE are refused whoever asks.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is refused', TG_OP;
END;
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Every new row must continue the log: the next position (no gap), the previous row's hash
-- as prev_hash, and a recorded_at that does not go backwards. A row-level BEFORE trigger sees
-- the rows its own statement inserted before, so multi-row INSERT and COPY are checked too.
CREATE FUNCTION events_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last events%ROWTYPE;
BEGIN
    SELECT * INTO last FROM events ORDER BY position DESC LIMIT 1;
    IF NOT FOUND THEN
        IF NEW.position <> 1 OR NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'the first event must have position 1 and a zero prev_hash'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSIF NEW.position <> last.position + 1 THEN
        RAISE EXCEPTION 'position % does not follow %', NEW.position, last.position
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF NEW.prev_hash <> last.hash THEN
        RAISE EXCEPTION 'prev_hash of position % is not the hash of position %', NEW.position, last.position
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF NEW.recorded_at < last.recorded_at THEN
        RAISE EXCEPTION 'recorded_at of position % goes backwards', NEW.position
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER events_link
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_check_link();

-- Wake subscribers (projector, SSE) once per appending statement, at commit.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('timeline_log', (SELECT max(position) FROM appended)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
