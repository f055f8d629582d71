-- Locks the token row: concurrent presentations of one token serialise here, and all but the
-- first see it used. Also names the current signing key, so issuing needs no lookup of its own.
SELECT g.id::text AS grant_id, g.client_id, g.scopes, g.resources,
       t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired,
       g.revoked_at IS NOT NULL AS revoked,
       -- For a used token: seconds since its last rotation, when that rotation's new token is
       -- still the family's open one and nothing of the family was used after it (a retry may
       -- replace it; see oauth_core::decisions::refresh).
       CASE WHEN t.used_at IS NOT NULL
             AND EXISTS (SELECT FROM oauth.refresh_tokens n
                         WHERE n.grant_id = t.grant_id AND n.used_at IS NULL
                           AND n.created_at = t.used_at)
             AND NOT EXISTS (SELECT FROM oauth.refresh_tokens u
                             WHERE u.grant_id = t.grant_id AND u.used_at > t.used_at)
            THEN extract(epoch FROM now() - t.used_at)::float8 END AS retry_age,
       (SELECT k.kid FROM oauth.signing_keys k WHERE k.status = 'current') AS current_kid
FROM oauth.refresh_tokens t JOIN oauth.grants g ON g.id = t.grant_id
WHERE t.token_hash = $1 FOR UPDATE OF t
