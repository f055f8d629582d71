SELECT uris AS value FROM oauth.client_post_logout_uris WHERE client_id = $1
