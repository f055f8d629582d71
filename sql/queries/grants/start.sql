INSERT INTO oauth.grants (client_id, user_id, scopes, resources, grant_type, auth_time,
                          authorization_id, user_claims)
VALUES ($1, $2, $3, $4, $5, coalesce(to_timestamp($6::float8), now()), $7, $8)
RETURNING id::text AS id, client_id, user_id, resources, grant_type,
          floor(extract(epoch FROM auth_time))::bigint AS auth_time, user_claims
