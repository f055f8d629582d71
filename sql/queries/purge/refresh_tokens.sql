-- Access tokens of a family outlive its revocation or last refresh by at most their
-- lifetime ($1 seconds, with the clock skew); after that, neither the family nor its tokens
-- can verify or be reused.
DELETE FROM oauth.refresh_tokens t WHERE t.expires_at < now()
    OR EXISTS (SELECT FROM oauth.grants g WHERE g.id = t.grant_id
               AND g.revoked_at < now() - make_interval(secs => $1))
