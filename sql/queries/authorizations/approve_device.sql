-- The approval as the user gave it (see approve_code.sql): scopes $4, resources $5.
UPDATE oauth.authorizations SET status = 'approved', user_claims = $2,
       auth_time = coalesce(to_timestamp($3::float8), auth_time), scopes = $4, resources = $5
WHERE id = $1
