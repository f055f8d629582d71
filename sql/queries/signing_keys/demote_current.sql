UPDATE oauth.signing_keys SET status = 'previous' WHERE status = 'current'
