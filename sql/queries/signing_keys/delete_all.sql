DELETE FROM oauth.signing_keys
