-- Statistics for the read models, for the runtime role.
--
-- The service runs as a role that owns nothing (service/db/roles.py), and only a table's owner
-- may ANALYZE it. The projector refreshes the read models' statistics as they grow
-- (service/readmodels/projector.py), so this function, owned by the owner and run with its
-- rights, does that one thing and nothing else; the runtime role is allowed to call it
-- (service/db/roles.py). Its search_path is pinned to the schema the tables are in, so the
-- caller's search_path cannot point it at other tables.
DO $migration$
BEGIN
    EXECUTE format(
        $sql$
        CREATE FUNCTION rm_analyze() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = %I, pg_temp AS $body$
        BEGIN
            ANALYZE rm_items, rm_entities;
        END;
        $body$
        $sql$,
        current_schema()
    );
END;
$migration$;

REVOKE ALL ON FUNCTION rm_analyze() FROM PUBLIC;
