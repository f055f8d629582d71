UPDATE oauth.grants SET revoked_at = now(), revoked_reason = $2
WHERE id = $1::uuid AND revoked_at IS NULL
RETURNING client_id, user_id
