SELECT id::text AS id, client_id, user_id, resources, grant_type,
       floor(extract(epoch FROM auth_time))::bigint AS auth_time, user_claims
FROM oauth.grants WHERE id = $1::uuid
