UPDATE oauth.issuers SET last_error = $2, last_error_at = now() WHERE issuer = $1
