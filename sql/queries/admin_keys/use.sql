-- The key with this hash, marked used; its name.
UPDATE oauth.admin_keys SET last_used_at = now() WHERE key_hash = $1
RETURNING name AS value
