-- A family that is not revoked, for access-token verification: the path PostgREST and RLS run
-- on every request, so everything `verify` asks of the family is this one statement. Its grant
-- type and user (a machine's family has no user to check, whatever its sub looks like), the issuer
-- of the session that approved it (user_claims->>'iss'; NULL: none recorded) with what
-- oauth.issuers says of that issuer today: NULL when no row names it exactly (never trusted,
-- or removed), else whether it is enabled, read as grounds/current.sql reads it
-- (decisions::grounds::issuer_still_trusted decides).
-- Only tables of a 0.1.0 schema, which this library serves until ALTER EXTENSION UPDATE.
SELECT g.grant_type, g.user_id, g.user_claims->>'iss' AS issuer,
       (SELECT coalesce(i.options->'enabled', 'true') = 'true'
        FROM oauth.issuers i WHERE i.issuer = g.user_claims->>'iss') AS issuer_enabled
FROM oauth.grants g
WHERE g.id = $1::uuid AND g.revoked_at IS NULL
