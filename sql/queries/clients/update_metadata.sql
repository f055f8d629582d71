-- A client's metadata (its type stays). A client that moves to private_key_jwt loses its secret:
-- it authenticates with its keys from now on (oauth.client_jwks).
UPDATE oauth.clients
SET name = $2, redirect_uris = $3, scopes = $4, grant_types = $5,
    token_endpoint_auth_method = $6, client_uri = $7, logo_uri = $8, updated_at = now(),
    client_secret_hash = CASE WHEN $6 = 'private_key_jwt' THEN NULL ELSE client_secret_hash END
WHERE client_id = $1
