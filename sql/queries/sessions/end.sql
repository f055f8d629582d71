UPDATE oauth.sessions SET ended_at = now(), end_reason = $2
WHERE id = $1::uuid AND ended_at IS NULL
RETURNING user_id AS value
