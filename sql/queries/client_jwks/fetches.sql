-- The clients whose keys the front fetches (all, or the one named by $1), with when it last
-- did and what went wrong.
SELECT coalesce(jsonb_agg(jsonb_build_object(
           'client_id', client_id, 'jwks_uri', jwks_uri, 'fetched_at', fetched_at,
           'last_error', last_error, 'kids', (SELECT coalesce(jsonb_agg(k -> 'kid'), '[]')
                                              FROM jsonb_array_elements(jwks -> 'keys') k))
           ORDER BY client_id), '[]') AS value
FROM oauth.client_jwks WHERE jwks_uri IS NOT NULL AND ($1::text IS NULL OR client_id = $1)
