-- The family of a subject token about to be exchanged (its session_id, verified live a moment
-- ago): whose it is, how it started, what its own exchange recorded (when it was itself
-- derived), and the latest its tokens could reach: its own end when it has one, else the end of
-- its newest unused refresh token (NULL: it has none; the subject token's exp is then the end).
SELECT g.client_id, g.user_id, g.grant_type, g.scopes, g.resources, g.user_claims,
       floor(extract(epoch FROM g.auth_time))::bigint AS auth_time,
       g.exchange,
       floor(extract(epoch FROM coalesce(g.expires_at,
           (SELECT max(t.expires_at) FROM oauth.refresh_tokens t
            WHERE t.grant_id = g.id AND t.used_at IS NULL AND t.expires_at > now()))))::bigint
           AS reach
FROM oauth.grants g
WHERE g.id = $1::uuid AND g.revoked_at IS NULL
