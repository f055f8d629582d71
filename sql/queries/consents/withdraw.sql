UPDATE oauth.consents SET revoked_at = now(), updated_at = now()
WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL
