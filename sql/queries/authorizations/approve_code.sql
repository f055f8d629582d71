-- The approval as the user gave it: the scopes and resources shown ($5, $6: the request's,
-- narrowed to what today's client and registries allow), the code's hash, the session's claims.
UPDATE oauth.authorizations SET status = 'approved', code_hash = $2, user_claims = $3,
       auth_time = coalesce(to_timestamp($4::float8), auth_time), scopes = $5, resources = $6
WHERE id = $1
