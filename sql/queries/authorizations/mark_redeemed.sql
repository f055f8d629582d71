UPDATE oauth.authorizations SET status = 'redeemed', grant_id = $2::uuid WHERE id = $1
