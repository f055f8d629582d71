-- Keys ($3) and jwks_uri ($4) change only when given; new keys count as fetched now.
UPDATE oauth.issuers SET options = $2, jwks = coalesce($3, jwks),
    jwks_uri = coalesce($4, jwks_uri),
    jwks_fetched_at = CASE WHEN $3 IS NOT NULL THEN now() ELSE jwks_fetched_at END,
    updated_at = now()
WHERE issuer = $1
