-- For administrators: public facts and protection only, never the private key.
SELECT coalesce(jsonb_agg(jsonb_build_object('kid', kid, 'alg', alg, 'status', status,
        'encrypted', kek_id IS NOT NULL, 'kek_id', kek_id, 'created_at', created_at,
        'activated_at', activated_at) ORDER BY created_at), '[]') AS value
FROM oauth.signing_keys
