-- A family derived by token exchange (RFC 8693) as one statement: its source family ($9; NULL
-- for a trusted issuer's session) locked FOR SHARE and still live, or nothing is started (a
-- revocation of the source waits for this transaction and then revokes this family too:
-- oauth.grant_revoked); the family, with what the exchange recorded ($10) and its end ($11);
-- and, when $12 is given, its first refresh token, which ends no later than the family.
-- Also names the current signing key.
WITH source AS (
    SELECT s.id FROM oauth.grants s
    WHERE s.id = $9::uuid AND s.revoked_at IS NULL
    FOR SHARE
), g AS (
    INSERT INTO oauth.grants (client_id, user_id, scopes, resources, grant_type, auth_time,
                              authorization_id, user_claims, source_grant_id, exchange, expires_at)
    SELECT $1, $2, $3, $4, $5, coalesce(to_timestamp($6::float8), now()), $7, $8, $9::uuid,
           $10, to_timestamp($11::float8)
    WHERE $9 IS NULL OR EXISTS (SELECT FROM source)
    RETURNING id, client_id, user_id, resources, grant_type, auth_time, user_claims, expires_at
), first_refresh AS (
    INSERT INTO oauth.refresh_tokens (token_hash, grant_id, expires_at)
    SELECT $12, g.id, least(now() + make_interval(secs => $13), g.expires_at) FROM g
    WHERE $12 IS NOT NULL
)
SELECT g.id::text AS id, g.client_id, g.user_id, g.resources, g.grant_type,
       floor(extract(epoch FROM g.auth_time))::bigint AS auth_time, g.user_claims,
       (SELECT k.kid FROM oauth.signing_keys k WHERE k.status = 'current') AS current_kid
FROM g
