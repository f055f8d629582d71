-- A successful refresh clears the last error.
UPDATE oauth.issuers SET jwks = $2, jwks_uri = $3, jwks_fetched_at = now(),
    last_error = NULL, last_error_at = NULL
WHERE issuer = $1
