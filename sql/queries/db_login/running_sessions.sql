-- The client backends running now, each with when it started (microseconds since the Unix
-- epoch): a registered sign-in whose backend is not among them has ended.
SELECT a.pid, (extract(epoch FROM a.backend_start) * 1000000)::int8 AS started_us
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend'
