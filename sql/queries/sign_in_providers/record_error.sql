UPDATE oauth.sign_in_providers SET last_error = $2, last_error_at = now() WHERE name = $1
