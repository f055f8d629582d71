SELECT i.user_id, u.disabled_at IS NOT NULL AS disabled
FROM oauth.identities i JOIN oauth.users u ON u.id = i.user_id
WHERE i.provider = $1 AND i.issuer = $2 AND i.subject = $3
FOR UPDATE OF i
