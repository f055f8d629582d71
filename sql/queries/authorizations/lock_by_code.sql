-- Locking the row serialises concurrent redemptions: the second one waits, then sees status
-- 'redeemed' and is treated as a replay.
SELECT id, kind, client_id, redirect_uri, redirect_uri_given, scopes, nonce, code_challenge,
       resources, user_id, status, expires_at <= now() AS expired, grant_id::text AS grant_id,
       floor(extract(epoch FROM auth_time))::bigint AS auth_time, user_claims,
       -- Through to_jsonb: a 0.1.0 schema (before ALTER EXTENSION UPDATE) has no such column.
       to_jsonb(a) ->> 'dpop_jkt' AS dpop_jkt
FROM oauth.authorizations a WHERE code_hash = $1 FOR UPDATE
