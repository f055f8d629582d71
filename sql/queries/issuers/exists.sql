SELECT true AS value FROM oauth.issuers WHERE issuer = $1
