-- A client that registered itself (RFC 7591), as oauth.client(s) reports it.
UPDATE oauth.clients SET registration_type = 'dynamic' WHERE client_id = $1
