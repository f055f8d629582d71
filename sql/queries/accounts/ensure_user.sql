-- The user `id` (a new one when $1 is NULL, or one a sign-in hook named), created with the
-- identity's email and profile if it does not exist yet.
INSERT INTO oauth.users (id, email, email_verified, profile)
VALUES (coalesce($1, gen_random_uuid()::text), $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET id = excluded.id
RETURNING id
