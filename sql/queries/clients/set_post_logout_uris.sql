-- An empty list deletes the row.
WITH gone AS (
    DELETE FROM oauth.client_post_logout_uris WHERE client_id = $1 AND cardinality($2::text[]) = 0
)
INSERT INTO oauth.client_post_logout_uris (client_id, uris)
SELECT $1, $2 WHERE cardinality($2::text[]) > 0
ON CONFLICT (client_id) DO UPDATE SET uris = excluded.uris
