-- What administrators see: never the secrets, only which are set; key ids, not keys.
SELECT coalesce(jsonb_agg(jsonb_build_object(
        'name', name, 'kind', kind, 'options', options,
        'key_ids', (SELECT coalesce(jsonb_agg(k->'kid'), '[]') FROM jsonb_array_elements(jwks->'keys') k),
        'discovery', discovery, 'metadata_fetched_at', metadata_fetched_at,
        'last_error', last_error, 'last_error_at', last_error_at,
        'created_at', created_at, 'updated_at', updated_at) ORDER BY name), '[]') AS value
FROM oauth.sign_in_providers
WHERE $1::text IS NULL OR name = $1
