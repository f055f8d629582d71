-- The public view of a client, as the administration functions return it (never the secret
-- hash).
SELECT jsonb_build_object(
        'client_id', client_id, 'client_type', client_type, 'name', name,
        'redirect_uris', redirect_uris, 'scopes', scopes, 'grant_types', grant_types,
        'token_endpoint_auth_method', token_endpoint_auth_method,
        'client_uri', client_uri, 'logo_uri', logo_uri,
        'registration_type', CASE WHEN metadata_document_fetched_at IS NOT NULL
                                  THEN 'dynamic' ELSE registration_type END,
        'created_at', created_at, 'updated_at', updated_at) AS value
FROM oauth.clients
WHERE client_id = $1
