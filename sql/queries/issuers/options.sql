SELECT options AS value FROM oauth.issuers WHERE issuer = $1
