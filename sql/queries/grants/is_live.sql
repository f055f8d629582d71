-- A family that is not revoked, for access-token verification: the path PostgREST and RLS run
-- on every request, so everything `verify` asks of the family is this one statement. Its grant
-- type and user (a machine's family has no user to check, whatever its sub looks like); the
-- issuer of the session that approved it (user_claims->>'iss'; NULL: none recorded) with the
-- options of the row of oauth.issuers naming it exactly today (NULL: never trusted, or removed)
-- and, only then, the user claims recorded with the family, where what that issuer's policy
-- judged is kept (decisions::grounds::issuer_still_trusted re-judges it by today's policy);
-- and whether the family's client is identified by the URL of its metadata document (the
-- setting that governs such clients is read in Rust: client_standing::may_act).
-- Only tables of a 0.1.0 schema, which this library serves until ALTER EXTENSION UPDATE.
SELECT g.grant_type, g.user_id, g.user_claims->>'iss' AS issuer,
       i.options AS issuer_options,
       CASE WHEN i.issuer IS NOT NULL THEN g.user_claims END AS user_claims,
       c.metadata_document_fetched_at IS NOT NULL AS metadata_document
FROM oauth.grants g
JOIN oauth.clients c ON c.client_id = g.client_id
LEFT JOIN oauth.issuers i ON i.issuer = g.user_claims->>'iss'
WHERE g.id = $1::uuid AND g.revoked_at IS NULL
