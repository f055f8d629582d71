-- The worker's session runs as the bootstrap superuser, but PostgreSQL applies the database's
-- own settings (ALTER DATABASE … SET, which its owner may write without being a superuser) as
-- it connects: nothing of those may change what the worker is or can do. Its role back to its
-- own, no timeout that would stop it, writes allowed, and a search_path where nothing a role
-- may create (in public, or a schema of the database's search_path) stands in for a function
-- its queries call.
SELECT pg_catalog.set_config('role', 'none', false)
    || pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)
    || pg_catalog.set_config('statement_timeout', '0', false)
    || pg_catalog.set_config('lock_timeout', '0', false)
    || pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)
    || pg_catalog.set_config('transaction_timeout', '0', false)
    || pg_catalog.set_config('default_transaction_read_only', 'off', false) AS value
