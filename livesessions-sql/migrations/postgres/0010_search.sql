-- Search at any scale: a trigram (pg_trgm) GIN index on the searched text, so that a search
-- (`ILIKE '%…%'` on title, instructor or description) that matches few sessions reads them
-- through the index instead of walking the whole list index. The planner still walks the
-- list index for a term that matches often (the first page is found early that way).
--
-- One index on the three columns joined by a space (`title || ' ' || instructor || ' ' ||
-- description`), not one per column: the list statement adds `<that text> ILIKE <pattern>`,
-- which every session matching in one of the columns also matches (the per-column condition
-- still decides). One index scan instead of three, one index to write, and ANALYZE keeps
-- statistics of the expression, from which the planner tells rare terms from common ones.
--
-- pg_trgm is a trusted extension (PostgreSQL 13+): a role with CREATE on the database may
-- install it. It goes into the schema `public` when it is not installed yet, never into the
-- store's schema (dropping a store's schema must not drop other schemas' indexes).
-- Without the privilege (or without the contrib package), `livesessions_search_indexes()`
-- raises a WARNING and returns false: search keeps working, unindexed. An operator then runs
-- `CREATE EXTENSION pg_trgm;` as a superuser (or the database owner) and migrates again:
-- `PostgresStore::migrate` calls the function on every run and the indexes are created then.

CREATE OR REPLACE FUNCTION livesessions_search_indexes() RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    trgm name;
    -- The schema the function lives in: the store's schema, whatever the search_path is.
    here name := (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE p.oid = 'livesessions_search_indexes'::regproc);
BEGIN
    -- Already there: return before CREATE INDEX, which would lock the table's writes a moment.
    IF to_regclass(format('%I.live_sessions_search_trgm_idx', here)) IS NOT NULL THEN
        RETURN true;
    END IF;
    SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF trgm IS NULL THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
        EXCEPTION
            WHEN unique_violation OR duplicate_object THEN
                NULL; -- another schema's migration installed it meanwhile
            WHEN OTHERS THEN
                RAISE WARNING 'livesessions: search is not indexed in schema %: cannot create the '
                    'extension pg_trgm (%: %); run CREATE EXTENSION pg_trgm as a superuser, '
                    'then migrate again', here, SQLSTATE, SQLERRM;
                RETURN false;
        END;
        SELECT n.nspname INTO trgm FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS live_sessions_search_trgm_idx ON %I.live_sessions '
                   'USING gin ((title || '' '' || instructor || '' '' || description) %I.gin_trgm_ops)',
                   here, trgm);
    RETURN true;
END
$fn$;

SELECT livesessions_search_indexes();
