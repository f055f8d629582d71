UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'revoked by the user'
WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL
