UPDATE oauth.authorizations SET status = 'denied' WHERE id = $1
