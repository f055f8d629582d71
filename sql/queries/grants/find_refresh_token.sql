SELECT g.id::text AS grant_id, g.client_id, g.user_id, g.scopes, g.resources, g.grant_type,
       g.user_claims,
       t.used_at IS NULL AND t.expires_at > now() AND g.revoked_at IS NULL AS active,
       floor(extract(epoch FROM t.created_at))::bigint AS iat,
       floor(extract(epoch FROM t.expires_at))::bigint AS exp
FROM oauth.refresh_tokens t JOIN oauth.grants g ON g.id = t.grant_id
WHERE t.token_hash = $1
