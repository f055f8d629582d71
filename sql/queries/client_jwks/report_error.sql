-- Why the last fetch of a client's jwks_uri failed; the keys stored before stay in use.
UPDATE oauth.client_jwks SET last_error = left($2, 1000), last_error_at = now()
WHERE client_id = $1 AND jwks_uri IS NOT NULL
