-- Newest first, since $1 (default a day ago), optionally of one event kind ($2) and one
-- client ($3), at most $4 rows (default 1000, between 1 and 100000).
SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.at DESC), '[]') AS value FROM (
    SELECT * FROM oauth.audit_log
    WHERE at >= coalesce($1, now() - interval '1 day')
      AND ($2::text IS NULL OR event = $2) AND ($3::text IS NULL OR client_id = $3)
    ORDER BY at DESC LIMIT greatest(least(coalesce($4, 1000), 100000), 1)) a
