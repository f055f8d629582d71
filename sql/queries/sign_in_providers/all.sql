SELECT name, options, secrets, secrets_kek_id, discovery, jwks
FROM oauth.sign_in_providers
ORDER BY name
