-- Another user's request is returned too; the caller treats it as missing.
SELECT id, kind, client_id, redirect_uri, scopes, state, prompt, max_age::bigint AS max_age,
       resources, user_id, to_jsonb(expires_at) #>> '{}' AS expires_at,
       floor(extract(epoch FROM created_at))::bigint AS requested_at, failures_at_start
FROM oauth.authorizations
WHERE status = 'pending' AND expires_at > now() AND id = $1
FOR UPDATE
