SELECT coalesce(jsonb_agg(jsonb_build_object(
        'id', id, 'provider', provider, 'created_at', created_at, 'expires_at', expires_at,
        'ended_at', ended_at, 'end_reason', end_reason,
        'active', ended_at IS NULL AND expires_at > now()) ORDER BY created_at DESC), '[]') AS value
FROM oauth.sessions
WHERE user_id = $1
