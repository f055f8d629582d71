-- The worker's session runs as the bootstrap superuser: nothing a role may create (in public,
-- or a schema on the database's search_path) may stand in for a function its queries call.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false) AS value
