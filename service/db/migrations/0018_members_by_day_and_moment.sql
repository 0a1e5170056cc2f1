-- A list's members a page at a time, read from one index that answers the whole question.
--
-- 0015's rm_items_members (generation, aspect, key, entity, recorded_to) yields a list's rows
-- in entity order, but every row of an entity's listing history was fetched from the table to
-- test the world day and `present`: about 7.5 rows read per member given, the segments of each
-- member's listing on other days and its delisted spells. This index has the day's and the
-- moment's bounds in it and only present rows, so a page tests them in the index and fetches
-- from the table just the rows it gives: `limit + 1` of them, as known now
-- (recorded_to = 'infinity') or at a past `known_at` (recorded_to > K AND recorded_from <= K).
-- Every query that used rm_items_members also asks `present`, so this one replaces it.
CREATE INDEX rm_items_members_on ON rm_items (
    generation, aspect, key, entity COLLATE "C", recorded_to, recorded_from, valid_from, valid_to
) WHERE present;
DROP INDEX rm_items_members;
