-- Profile claims merge: Apple sends the name only on the first sign-in, and later sign-ins
-- must not erase it.
INSERT INTO oauth.identities (provider, issuer, subject, user_id, email, email_verified, profile, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (provider, issuer, subject) DO UPDATE
SET user_id = excluded.user_id, email = excluded.email, email_verified = excluded.email_verified,
    profile = identities.profile || excluded.profile, details = excluded.details,
    last_sign_in_at = now()
RETURNING profile
