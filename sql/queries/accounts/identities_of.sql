SELECT coalesce(jsonb_agg(jsonb_build_object(
        'provider', provider, 'issuer', issuer, 'subject', subject, 'email', email,
        'email_verified', email_verified, 'profile', profile, 'details', details,
        'created_at', created_at, 'last_sign_in_at', last_sign_in_at)
        ORDER BY created_at), '[]') AS value
FROM oauth.identities
WHERE user_id = $1
