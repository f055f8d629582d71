-- A client described by its metadata document: inserted, or refreshed on every later fetch.
-- Only a client that came from a document is refreshed (metadata_document_fetched_at is set):
-- a document cannot take over a client registered another way, and then no row is returned.
-- Public with `none`, or confidential with private_key_jwt (keys at its jwks_uri, never a
-- secret).
INSERT INTO oauth.clients (client_id, client_type, name, redirect_uris, grant_types,
                           token_endpoint_auth_method, client_uri, logo_uri,
                           metadata_document_fetched_at)
VALUES ($1, $7, $2, $3, $4, $8, $5, $6, now())
ON CONFLICT (client_id) DO UPDATE SET name = excluded.name,
    redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types,
    client_type = excluded.client_type,
    token_endpoint_auth_method = excluded.token_endpoint_auth_method,
    client_uri = excluded.client_uri, logo_uri = excluded.logo_uri,
    metadata_document_fetched_at = now(), updated_at = now()
WHERE clients.metadata_document_fetched_at IS NOT NULL
