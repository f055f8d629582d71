-- A retry of a refresh (the token $1 was used and its answer lost): the family's open tokens,
-- which the client never received, are superseded — marked used at their own creation, so
-- that presenting one later is reuse (retry_age.sql) and the purge keeps them until their
-- expiry, like any used token — the presented token's rotation moves to now, and the next
-- token is stored, and the family narrowed to what its grounds still allow ($5, $6). No row when nothing was open any more: that is reuse.
WITH superseded AS (
    UPDATE oauth.refresh_tokens SET used_at = created_at
    WHERE grant_id = $2::uuid AND used_at IS NULL
    RETURNING 1
), presented AS (
    UPDATE oauth.refresh_tokens SET used_at = now()
    WHERE token_hash = $1 AND EXISTS (SELECT FROM superseded)
), next AS (
    INSERT INTO oauth.refresh_tokens (token_hash, grant_id, expires_at)
    SELECT $3, $2::uuid, now() + make_interval(secs => $4) WHERE EXISTS (SELECT FROM superseded)
)
UPDATE oauth.grants SET last_used_at = now(), scopes = $5, resources = $6
WHERE id = $2::uuid AND EXISTS (SELECT FROM superseded)
RETURNING id::text AS id, client_id, user_id, resources, grant_type,
          floor(extract(epoch FROM auth_time))::bigint AS auth_time, user_claims
