INSERT INTO oauth.sign_in_providers (name, kind, options, secrets, secrets_kek_id)
VALUES ($1, $2, $3, $4, $5)
