UPDATE oauth.signing_keys SET private_key = $2, kek_id = $3 WHERE kid = $1
