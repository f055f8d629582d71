SELECT id FROM oauth.users WHERE id = $1 FOR UPDATE
