UPDATE oauth.sessions SET ended_at = now(), end_reason = $2
WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now()
