DELETE FROM oauth.resources WHERE resource = $1
