SELECT true AS value FROM oauth.grants WHERE id = $1::uuid AND revoked_at IS NULL
