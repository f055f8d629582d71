-- Cascades to the client's pending authorizations, consents, grants and refresh tokens.
DELETE FROM oauth.clients WHERE client_id = $1
