-- A family derived by exchange, at its refresh (its row is locked by lock_refresh_token): what
-- the exchange recorded, its end, and its source family as it is today (NULL for one derived
-- from a trusted issuer's session; a revoked source has revoked this family already).
SELECT g.exchange, floor(extract(epoch FROM g.expires_at))::bigint AS expires_at,
       s.id IS NOT NULL AS has_source,
       s.scopes AS source_scopes, s.resources AS source_resources,
       s.revoked_at IS NOT NULL AS source_revoked
FROM oauth.grants g
LEFT JOIN oauth.grants s ON s.id = g.source_grant_id
WHERE g.id = $1::uuid
