-- What the front last fetched from a client's sector_identifier_uri, and how long ago.
SELECT sector_identifier_uri, redirect_uris, last_error,
       extract(epoch FROM now() - fetched_at)::float8 AS age
FROM oauth.client_sector_documents WHERE client_id = $1
