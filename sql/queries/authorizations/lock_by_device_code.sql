SELECT id, client_id, scopes, resources, status, user_id,
       floor(extract(epoch FROM auth_time))::bigint AS auth_time, user_claims,
       grant_id::text AS grant_id, expires_at <= now() AS expired,
       coalesce(last_polled_at > now() - make_interval(secs => poll_interval), false) AS too_fast
FROM oauth.authorizations WHERE device_code_hash = $1 FOR UPDATE
