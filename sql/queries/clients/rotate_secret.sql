UPDATE oauth.clients SET client_secret_hash = $2, updated_at = now() WHERE client_id = $1
