SELECT resource, name, scopes FROM oauth.resources WHERE resource = $1
