-- The first of $1 that is not a registered resource server, as JSON text; those that are stay
-- registered until the transaction ends (KEY SHARE: a removal waits for it, and its trigger then
-- sees what this transaction wrote, such as a client's default resources naming them).
WITH held AS (
    SELECT resource FROM oauth.resources WHERE resource = ANY ($1::text[]) FOR KEY SHARE
)
SELECT to_jsonb(r) AS value
FROM unnest($1::text[]) r
WHERE r NOT IN (SELECT resource FROM held)
LIMIT 1
