-- Keys given inline ($3) count as fetched now; without them the set starts empty.
INSERT INTO oauth.issuers (issuer, options, jwks, jwks_uri, jwks_fetched_at)
VALUES ($1, $2, coalesce($3, '{"keys": []}'), $4, CASE WHEN $3 IS NOT NULL THEN now() END)
