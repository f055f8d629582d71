DELETE FROM oauth.sign_in_providers WHERE name = $1
