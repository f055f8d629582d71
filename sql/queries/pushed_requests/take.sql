-- Uses a pushed request once: gone whether or not it had expired. Only the client that pushed
-- it may use it (another client's attempt leaves it in place).
DELETE FROM oauth.pushed_requests
WHERE request_uri_hash = $1 AND client_id = $2
RETURNING params, expires_at <= now() AS expired
