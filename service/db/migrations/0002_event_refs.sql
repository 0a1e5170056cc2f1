-- Which entities each event names besides its subject (list, rule, parent, rule targets).
-- Written in the same transaction as the event, so "the events that name X" is as current as
-- the log itself: a company's state needs the rules whose `targets` name it.

CREATE TABLE event_refs (
    position  bigint NOT NULL REFERENCES events (position),
    ref       text   NOT NULL,
    field     text   NOT NULL,
    PRIMARY KEY (ref, position, field)
);

CREATE TRIGGER event_refs_append_only
    BEFORE UPDATE OR DELETE ON event_refs
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER event_refs_no_truncate
    BEFORE TRUNCATE ON event_refs
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
