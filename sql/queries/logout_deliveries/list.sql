-- Deliveries newest first, of one client ($1) or all, at most $2: what oauth.logout_deliveries()
-- shows (never a token: they are signed when claimed).
SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'client_id', client_id, 'uri', uri, 'user_id', user_id, 'sid', sid,
           'jti', jti, 'reason', reason, 'created_at', created_at, 'attempts', attempts,
           'state', CASE WHEN delivered_at IS NOT NULL THEN 'delivered'
                         WHEN given_up_at IS NOT NULL THEN 'given_up' ELSE 'pending' END,
           'delivered_at', delivered_at, 'given_up_at', given_up_at,
           'next_attempt_at', CASE WHEN delivered_at IS NULL AND given_up_at IS NULL
                                   THEN next_attempt_at END,
           'last_status', last_status, 'last_error', last_error)
       ORDER BY created_at DESC, id), '[]') AS value
FROM (SELECT * FROM oauth.logout_deliveries
      WHERE $1::text IS NULL OR client_id = $1
      ORDER BY created_at DESC, id LIMIT $2) d
