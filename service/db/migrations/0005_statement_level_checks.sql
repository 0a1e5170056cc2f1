-- The same guarantees as 0001/0002, checked once per statement instead of once per row.
--
-- A row-level BEFORE trigger read the log's last row for every inserted row, and the foreign
-- key of event_refs locked the referenced event row by row: most of the database's cost of a
-- batched append. A statement-level AFTER trigger sees every row the statement inserted in a
-- transition table and checks them in one join; a violation still aborts the statement, so
-- nothing of it is kept.

DROP TRIGGER events_link ON events;
DROP FUNCTION events_check_link();

-- Every new row must continue the log: position 1 with a zero prev_hash, or the row before it
-- exists (no gap: the primary key already refuses a second row at a position), its hash is the
-- new row's prev_hash, and recorded_at does not go backwards. The statement's rows are checked
-- against each other in position order, and its first row against the one row before it.
--
-- The plans must not depend on statistics: a log that grows fast from empty outruns
-- autovacuum, and a planner that believes `events` holds a handful of rows would scan it for
-- every append (quadratic). So sequential scans are off inside these functions, and the only
-- reads of `events` are primary-key probes.
CREATE FUNCTION events_check_links() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    first record;
    before record;
    bad record;
BEGIN
    SELECT a.position, a.prev_hash, a.recorded_at INTO first
      FROM appended a ORDER BY a.position LIMIT 1;
    IF first.position = 1 THEN
        IF first.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'the first event must have position 1 and a zero prev_hash'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSE
        SELECT e.position, e.hash, e.recorded_at INTO before
          FROM events e WHERE e.position = first.position - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'position % does not follow the log (no event at position %)',
                first.position, first.position - 1
                USING ERRCODE = 'integrity_constraint_violation';
        ELSIF first.prev_hash <> before.hash THEN
            RAISE EXCEPTION 'prev_hash of position % is not the hash of position %',
                first.position, before.position
                USING ERRCODE = 'integrity_constraint_violation';
        ELSIF first.recorded_at < before.recorded_at THEN
            RAISE EXCEPTION 'recorded_at of position % goes backwards', first.position
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    SELECT * INTO bad FROM (
        SELECT a.position, a.prev_hash, a.recorded_at,
               lag(a.position) OVER w AS before_position,
               lag(a.hash) OVER w AS before_hash,
               lag(a.recorded_at) OVER w AS before_recorded_at
          FROM appended a
        WINDOW w AS (ORDER BY a.position)
    ) linked
     WHERE before_position IS NOT NULL
       AND (position <> before_position + 1 OR prev_hash <> before_hash
            OR recorded_at < before_recorded_at)
     ORDER BY position
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.position <> bad.before_position + 1 THEN
        RAISE EXCEPTION 'position % does not follow position %', bad.position, bad.before_position
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF bad.prev_hash <> bad.before_hash THEN
        RAISE EXCEPTION 'prev_hash of position % is not the hash of position %',
            bad.position, bad.before_position
            USING ERRCODE = 'integrity_constraint_violation';
    ELSE
        RAISE EXCEPTION 'recorded_at of position % goes backwards', bad.position
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END;
$$;

CREATE TRIGGER events_link
    AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION events_check_links();

-- event_refs rows name events of the log. Events are never deleted (0001), so the only thing
-- the foreign key still guarded is the insert: checked here per statement.
ALTER TABLE event_refs DROP CONSTRAINT event_refs_position_fkey;

CREATE FUNCTION event_refs_check() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT r.position INTO missing
      FROM added r
     WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.position = r.position)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'event_refs names position %, which is not in the log', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER event_refs_exist
    AFTER INSERT ON event_refs
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION event_refs_check();
