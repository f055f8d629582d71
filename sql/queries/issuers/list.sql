-- Every issuer as describe.sql shows one (keep the two in step), ordered by issuer.
SELECT coalesce(jsonb_agg(d ORDER BY d->>'issuer'), '[]') AS value FROM (
    SELECT jsonb_build_object(
            'issuer', issuer, 'options', options, 'jwks_uri', jwks_uri,
            'kids', (SELECT coalesce(jsonb_agg(k->'kid'), '[]') FROM jsonb_array_elements(jwks->'keys') k),
            'jwks_fetched_at', jwks_fetched_at, 'last_error', last_error, 'last_error_at', last_error_at,
            'created_at', created_at, 'updated_at', updated_at)
    FROM oauth.issuers) AS x(d)
