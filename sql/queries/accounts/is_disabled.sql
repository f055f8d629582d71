SELECT disabled_at IS NOT NULL AS value FROM oauth.users WHERE id = $1
