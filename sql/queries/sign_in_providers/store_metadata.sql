-- A successful fetch clears the last error.
UPDATE oauth.sign_in_providers
SET discovery = $2, jwks = $3, metadata_fetched_at = now(), last_error = NULL, last_error_at = NULL
WHERE name = $1
