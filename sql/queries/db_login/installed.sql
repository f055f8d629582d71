-- Whether this database has the extension at a version that publishes the login snapshot
-- (0.2.0 on): the worker asks before reading anything, and waits otherwise.
SELECT to_regprocedure('oauth.db_login_snapshot()') IS NOT NULL AS value
