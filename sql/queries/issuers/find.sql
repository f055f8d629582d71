SELECT options, jwks FROM oauth.issuers WHERE issuer = $1
