UPDATE oauth.authorizations SET status = 'approved', user_claims = $2,
       auth_time = coalesce(to_timestamp($3::float8), auth_time)
WHERE id = $1
