INSERT INTO oauth.sessions (user_id, provider, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
RETURNING id::text AS value
