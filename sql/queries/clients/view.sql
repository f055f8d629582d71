-- The public view of a client, as the administration functions return it (never the secret
-- hash). registration_type and default_resources are read through to_jsonb so that this also
-- runs on a 0.1.0 schema (before ALTER EXTENSION UPDATE), which has no such columns.
SELECT jsonb_build_object(
        'client_id', client_id, 'client_type', client_type, 'name', name,
        'redirect_uris', redirect_uris, 'scopes', scopes, 'grant_types', grant_types,
        'token_endpoint_auth_method', token_endpoint_auth_method,
        'client_uri', client_uri, 'logo_uri', logo_uri,
        'dpop_bound_access_tokens',
            coalesce((to_jsonb(c) ->> 'dpop_bound_access_tokens')::boolean, false),
        'require_pushed_authorization_requests',
            coalesce((to_jsonb(c) ->> 'require_pushed_authorization_requests')::boolean, false),
        'registration_type', CASE WHEN metadata_document_fetched_at IS NOT NULL THEN 'dynamic'
                                  ELSE coalesce(to_jsonb(c) ->> 'registration_type', 'manual') END,
        'created_at', created_at, 'updated_at', updated_at)
       -- Its default resources only when it has some (oauth.client() always shows them).
       || jsonb_strip_nulls(jsonb_build_object('default_resources',
                                               to_jsonb(c) -> 'default_resources'))
       AS value
FROM oauth.clients c
WHERE client_id = $1
