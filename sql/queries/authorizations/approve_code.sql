UPDATE oauth.authorizations SET status = 'approved', code_hash = $2, user_claims = $3,
       auth_time = coalesce(to_timestamp($4::float8), auth_time)
WHERE id = $1
