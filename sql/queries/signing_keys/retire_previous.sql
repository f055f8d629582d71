DELETE FROM oauth.signing_keys WHERE status = 'previous'
