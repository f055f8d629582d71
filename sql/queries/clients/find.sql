-- A client as the protocol functions need it (never its metadata document timestamps, only
-- whether it came from a document: a switch governs such clients, decisions::client_standing).
SELECT client_id, client_type, client_secret_hash, name, redirect_uris, scopes, grant_types,
       token_endpoint_auth_method, client_uri, logo_uri,
       metadata_document_fetched_at IS NOT NULL AS metadata_document
FROM oauth.clients
WHERE client_id = $1
