INSERT INTO oauth.refresh_tokens (token_hash, grant_id, expires_at)
VALUES ($1, $2::uuid, now() + make_interval(secs => $3))
