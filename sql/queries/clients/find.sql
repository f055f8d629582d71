-- A client as the protocol functions need it (never its metadata document timestamps).
SELECT client_id, client_type, client_secret_hash, name, redirect_uris, scopes, grant_types,
       token_endpoint_auth_method, client_uri, logo_uri
FROM oauth.clients
WHERE client_id = $1
