-- Keys the front fetched from the client's jwks_uri: stored only while that is still the URL
-- the client registered (a fetch that raced a change of URL stores nothing).
UPDATE oauth.client_jwks SET jwks = $3, fetched_at = now(), last_error = NULL, last_error_at = NULL
WHERE client_id = $1 AND jwks_uri = $2
