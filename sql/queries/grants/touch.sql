UPDATE oauth.grants SET last_used_at = now() WHERE id = $1::uuid
