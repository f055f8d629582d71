-- Stores what a fetch of a client's sector_identifier_uri found: the redirect URIs it lists,
-- or ($3 NULL) why it could not be used.
INSERT INTO oauth.client_sector_documents AS d
    (client_id, sector_identifier_uri, redirect_uris, last_error)
VALUES ($1, $2, $3, $4)
ON CONFLICT (client_id) DO UPDATE
SET sector_identifier_uri = EXCLUDED.sector_identifier_uri, redirect_uris = EXCLUDED.redirect_uris,
    last_error = EXCLUDED.last_error, fetched_at = now()
