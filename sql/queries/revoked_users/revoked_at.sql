SELECT extract(epoch FROM revoked_at)::float8 AS value
FROM oauth.revoked_users WHERE issuer = $1 AND sub = $2
