SELECT jsonb_object_agg(status, kid) AS value FROM oauth.signing_keys
