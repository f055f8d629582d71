UPDATE oauth.consents SET scopes_by_audience = $3, updated_at = now(), revoked_at = NULL,
       granted_at = CASE WHEN revoked_at IS NULL THEN granted_at ELSE now() END
WHERE user_id = $1 AND client_id = $2
