UPDATE oauth.sign_in_providers SET secrets = $2, secrets_kek_id = $3 WHERE name = $1
