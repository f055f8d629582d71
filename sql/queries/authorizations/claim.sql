-- Binds a pending request to the user who opened it first; auth_time is when that user's
-- session signed in (now, when the session does not say).
UPDATE oauth.authorizations SET user_id = $2, auth_time = coalesce(to_timestamp($3::float8), now())
WHERE id = $1
