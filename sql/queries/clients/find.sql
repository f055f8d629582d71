-- A client as the protocol functions need it (never its metadata document timestamps, only
-- whether it came from a document: a switch governs such clients, decisions::client_standing).
SELECT client_id, client_type, client_secret_hash, name, redirect_uris, scopes, grant_types,
       token_endpoint_auth_method, client_uri, logo_uri,
       metadata_document_fetched_at IS NOT NULL AS metadata_document,
       -- Through to_jsonb (made once per row): a 0.1.0 schema (before ALTER EXTENSION UPDATE)
       -- has no such columns.
       coalesce((j ->> 'dpop_bound_access_tokens')::boolean, false) AS dpop_bound_access_tokens,
       coalesce((j ->> 'require_pushed_authorization_requests')::boolean, false)
           AS require_pushed_authorization_requests,
       j -> 'relying_party' AS relying_party,
       CASE WHEN jsonb_typeof(j -> 'default_resources') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(j -> 'default_resources')) END
           AS default_resources
FROM oauth.clients c, LATERAL to_jsonb(c) j
WHERE client_id = $1
