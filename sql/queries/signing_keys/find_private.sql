SELECT kid, alg, private_key, kek_id FROM oauth.signing_keys WHERE kid = $1
