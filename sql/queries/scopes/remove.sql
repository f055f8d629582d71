DELETE FROM oauth.scopes WHERE name = $1
