DELETE FROM oauth.admin_keys WHERE name = $1
