-- Page $1 (from 1) of $2 clients, oldest first, each as describe.sql shows it, and how many
-- clients there are.
SELECT jsonb_build_object(
        'clients', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                    'client_id', c.client_id, 'client_type', c.client_type, 'name', c.name,
                    'redirect_uris', c.redirect_uris, 'scopes', c.scopes,
                    'grant_types', c.grant_types,
                    'token_endpoint_auth_method', c.token_endpoint_auth_method,
                    'client_uri', c.client_uri, 'logo_uri', c.logo_uri,
                    'post_logout_redirect_uris', coalesce(p.uris, '{}'),
                    'metadata_document', c.metadata_document_fetched_at IS NOT NULL,
                    'dpop_bound_access_tokens', c.dpop_bound_access_tokens,
                    'require_pushed_authorization_requests',
                        c.require_pushed_authorization_requests,
                    'jwks', CASE WHEN k.jwks_uri IS NULL THEN k.jwks END, 'jwks_uri', k.jwks_uri,
                    'registration_type', CASE WHEN c.metadata_document_fetched_at IS NOT NULL
                                              THEN 'dynamic' ELSE c.registration_type END,
                    'created_at', c.created_at, 'updated_at', c.updated_at,
                    'subject_type', 'public', 'backchannel_logout_session_required', false,
                    'default_resources', c.default_resources)
                    || coalesce(c.relying_party, '{}')
                    ORDER BY c.created_at, c.client_id)
            FROM (SELECT * FROM oauth.clients
                  ORDER BY created_at, client_id
                  LIMIT $2 OFFSET ($1 - 1) * $2) c
            LEFT JOIN oauth.client_post_logout_uris p USING (client_id)
            LEFT JOIN oauth.client_jwks k USING (client_id)), '[]'),
        'total', (SELECT count(*) FROM oauth.clients),
        'page', $1, 'per_page', $2) AS value
