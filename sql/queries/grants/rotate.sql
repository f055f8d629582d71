-- A refresh as one statement: the presented token is marked used, the family's next refresh
-- token stored and the family touched and narrowed to what its grounds still allow ($5, $6); returns the family as issuing needs it. (Data-modifying
-- CTEs run once whether or not they are read.)
WITH used AS (
    UPDATE oauth.refresh_tokens SET used_at = now() WHERE token_hash = $1
), next AS (
    INSERT INTO oauth.refresh_tokens (token_hash, grant_id, expires_at)
    VALUES ($3, $2::uuid, now() + make_interval(secs => $4))
)
UPDATE oauth.grants SET last_used_at = now(), scopes = $5, resources = $6 WHERE id = $2::uuid
RETURNING id::text AS id, client_id, user_id, resources, grant_type,
          floor(extract(epoch FROM auth_time))::bigint AS auth_time, user_claims
