-- What oauth.issuers() shows of one issuer (keep in step with list.sql): its key ids, never
-- the keys.
SELECT jsonb_build_object(
        'issuer', issuer, 'options', options, 'jwks_uri', jwks_uri,
        'kids', (SELECT coalesce(jsonb_agg(k->'kid'), '[]') FROM jsonb_array_elements(jwks->'keys') k),
        'jwks_fetched_at', jwks_fetched_at, 'last_error', last_error, 'last_error_at', last_error_at,
        'created_at', created_at, 'updated_at', updated_at) AS value
FROM oauth.issuers WHERE issuer = $1
