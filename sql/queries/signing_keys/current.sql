SELECT kid, alg FROM oauth.signing_keys WHERE status = 'current'
