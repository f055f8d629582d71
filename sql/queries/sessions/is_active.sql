SELECT ended_at IS NULL AND expires_at > now() AS value
FROM oauth.sessions
WHERE id = $1::uuid
