-- Another user's request is returned too; the caller treats it as missing.
SELECT id, kind, client_id, redirect_uri, scopes, state, prompt, max_age::bigint AS max_age,
       resources, user_id, to_jsonb(expires_at) #>> '{}' AS expires_at,
       floor(extract(epoch FROM created_at))::bigint AS requested_at, failures_at_start,
       -- Through to_jsonb: a 0.1.0 schema (before ALTER EXTENSION UPDATE) has no such column.
       to_jsonb(a) ->> 'hint_sub' AS hint_sub,
       coalesce((to_jsonb(a) ->> 'pushed')::boolean, false) AS pushed
FROM oauth.authorizations a
-- IS TRUE keeps the planner on the unique key: new requests expire past the column's
-- statistics, so `expires_at > now()` is estimated at a row or two, and an index scan on
-- expires_at would read every open request (0.8 ms each at 4,000 of them, and growing).
WHERE status = 'pending' AND (expires_at > now()) IS TRUE AND id = $1
FOR UPDATE
