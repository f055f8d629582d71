-- At most two: one is a match, two is ambiguous (and then nothing is linked).
SELECT id FROM oauth.users
WHERE lower(email) = lower($1) AND email_verified AND disabled_at IS NULL
ORDER BY created_at
LIMIT 2
