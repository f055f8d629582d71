-- Families revoked or unused for longer than an access token lives ($1 seconds, with the
-- clock skew), once none of their refresh tokens is left.
DELETE FROM oauth.grants g
WHERE coalesce(g.revoked_at, g.last_used_at) < now() - make_interval(secs => $1)
  AND NOT EXISTS (SELECT FROM oauth.refresh_tokens t WHERE t.grant_id = g.id)
