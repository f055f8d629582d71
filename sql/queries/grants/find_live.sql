SELECT user_id, user_claims FROM oauth.grants WHERE id = $1::uuid AND revoked_at IS NULL
