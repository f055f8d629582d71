-- Ends the backend $1 if it is still the one that started at $2 (microseconds since the Unix
-- epoch): a pid reused by another backend is left alone. Whether it was ended.
SELECT coalesce((SELECT pg_terminate_backend(a.pid)
                 FROM pg_stat_activity a
                 WHERE a.pid = $1
                   AND (extract(epoch FROM a.backend_start) * 1000000)::int8 = $2), false) AS value
