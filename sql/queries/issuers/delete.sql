DELETE FROM oauth.issuers WHERE issuer = $1
