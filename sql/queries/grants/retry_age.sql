-- For a used refresh token, read after its family is locked (a statement of its own, so that
-- it sees what a refresh this one waited for committed): seconds since the token's last
-- rotation, when that rotation's new token is still the family's open one and nothing of the
-- family was used after it; else no row. A superseded token (used_at = created_at, see
-- retry_rotate.sql) never qualifies: no token of its family was created when it was.
SELECT extract(epoch FROM now() - t.used_at)::float8 AS value
FROM oauth.refresh_tokens t
WHERE t.token_hash = $1 AND t.used_at IS NOT NULL
  AND EXISTS (SELECT FROM oauth.refresh_tokens n
              WHERE n.grant_id = t.grant_id AND n.used_at IS NULL AND n.created_at = t.used_at)
  AND NOT EXISTS (SELECT FROM oauth.refresh_tokens u
                  WHERE u.grant_id = t.grant_id AND u.used_at > t.used_at)
