-- A pushed authorization request (RFC 9126): its parameters, under the hash of its request_uri,
-- for the client that pushed it, until it expires.
INSERT INTO oauth.pushed_requests (request_uri_hash, client_id, params, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $4))
