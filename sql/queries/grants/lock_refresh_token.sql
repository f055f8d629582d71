-- Locks the token row and its family: concurrent presentations of one token, and refreshes
-- of one family, serialise here (all but the first see the token used). Also names the
-- current signing key, so issuing needs no lookup of its own.
SELECT g.id::text AS grant_id, g.client_id, g.user_id, g.scopes, g.resources, g.grant_type,
       t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired,
       g.revoked_at IS NOT NULL AS revoked,
       g.user_claims,
       -- Through to_jsonb: a 0.1.0 schema (before ALTER EXTENSION UPDATE) has no such column.
       to_jsonb(g) ->> 'dpop_jkt' AS dpop_jkt,
       (SELECT k.kid FROM oauth.signing_keys k WHERE k.status = 'current') AS current_kid
FROM oauth.refresh_tokens t JOIN oauth.grants g ON g.id = t.grant_id
WHERE t.token_hash = $1 FOR UPDATE OF t FOR NO KEY UPDATE OF g
