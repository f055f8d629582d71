-- The first of $1 that is not a registered resource server, as JSON text (its quoted form goes
-- into the error message as is).
SELECT to_jsonb(r) AS value
FROM unnest($1::text[]) r
WHERE NOT EXISTS (SELECT FROM oauth.resources WHERE resource = r)
LIMIT 1
