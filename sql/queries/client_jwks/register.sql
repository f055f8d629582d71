-- A client's keys as registered: inline ($2, $3 NULL), at a URL ($3; the keys fetched from that
-- same URL before are kept, from another URL dropped), or none (both NULL: the row goes).
WITH gone AS (
    DELETE FROM oauth.client_jwks WHERE client_id = $1 AND $2::jsonb IS NULL AND $3::text IS NULL
)
INSERT INTO oauth.client_jwks AS k (client_id, jwks, jwks_uri)
SELECT $1, coalesce($2, '{"keys": []}'), $3
WHERE $2 IS NOT NULL OR $3 IS NOT NULL
ON CONFLICT (client_id) DO UPDATE
SET jwks = CASE WHEN excluded.jwks_uri IS NOT NULL AND excluded.jwks_uri = k.jwks_uri THEN k.jwks
                ELSE excluded.jwks END,
    fetched_at = CASE WHEN excluded.jwks_uri IS NOT NULL AND excluded.jwks_uri = k.jwks_uri
                      THEN k.fetched_at END,
    jwks_uri = excluded.jwks_uri, last_error = NULL, last_error_at = NULL
