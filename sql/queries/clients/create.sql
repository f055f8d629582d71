INSERT INTO oauth.clients (client_id, client_secret_hash, client_type, name, redirect_uris, scopes,
                           grant_types, token_endpoint_auth_method, client_uri, logo_uri)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING client_id, client_type, client_secret_hash, name, redirect_uris, scopes, grant_types,
          token_endpoint_auth_method, client_uri, logo_uri,
          metadata_document_fetched_at IS NOT NULL AS metadata_document,
          -- Set apart (set_flags.sql, set_default_resources.sql) when asked for.
          false AS dpop_bound_access_tokens, false AS require_pushed_authorization_requests,
          NULL::jsonb AS relying_party, NULL::text[] AS default_resources
