-- A client's keys, and how long ago they were fetched (NULL: never, or given inline).
SELECT jwks, jwks_uri, extract(epoch FROM now() - fetched_at)::float8 AS fetched_secs_ago
FROM oauth.client_jwks WHERE client_id = $1
