-- A redeemed code or device code as one statement: the family starts, the authorization is
-- marked redeemed by it, and, when $9 is given, the family's first refresh token is stored.
-- Also names the current signing key, so issuing needs no lookup of its own.
WITH g AS (
    INSERT INTO oauth.grants (client_id, user_id, scopes, resources, grant_type, auth_time,
                              authorization_id, user_claims)
    VALUES ($1, $2, $3, $4, $5, coalesce(to_timestamp($6::float8), now()), $7, $8)
    RETURNING id, client_id, user_id, resources, grant_type, auth_time, user_claims
), redeemed AS (
    UPDATE oauth.authorizations a SET status = 'redeemed', grant_id = g.id FROM g WHERE a.id = $7
), first_refresh AS (
    INSERT INTO oauth.refresh_tokens (token_hash, grant_id, expires_at)
    SELECT $9, g.id, now() + make_interval(secs => $10) FROM g WHERE $9 IS NOT NULL
)
SELECT g.id::text AS id, g.client_id, g.user_id, g.resources, g.grant_type,
       floor(extract(epoch FROM g.auth_time))::bigint AS auth_time, g.user_claims,
       (SELECT k.kid FROM oauth.signing_keys k WHERE k.status = 'current') AS current_kid
FROM g
