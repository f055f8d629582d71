UPDATE oauth.signing_keys SET status = 'current', activated_at = now() WHERE status = 'next'
