UPDATE oauth.clients
SET name = $2, redirect_uris = $3, scopes = $4, grant_types = $5,
    token_endpoint_auth_method = $6, client_uri = $7, logo_uri = $8, updated_at = now()
WHERE client_id = $1
