-- A sign-in: the user's email follows the identity when that one is verified (or the user
-- had none), profile claims the identity sent replace the old ones; returns what the session
-- carries.
UPDATE oauth.users
SET last_sign_in_at = now(),
    email = CASE WHEN $3 OR email IS NULL THEN $2 ELSE email END,
    email_verified = CASE WHEN $3 OR email IS NULL THEN $3 ELSE email_verified END,
    profile = profile || $4
WHERE id = $1
RETURNING id, email, email_verified, profile, disabled_at IS NOT NULL AS disabled
