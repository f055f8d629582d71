-- The keys by name, never their hashes.
SELECT coalesce(jsonb_agg(jsonb_build_object(
        'name', name, 'created_at', created_at, 'last_used_at', last_used_at) ORDER BY name),
        '[]') AS value
FROM oauth.admin_keys
