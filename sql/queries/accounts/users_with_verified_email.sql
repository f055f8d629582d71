-- At most two: one is a match, two is ambiguous (and then nothing is linked).
SELECT id FROM oauth.users
-- ASCII only on both sides: lower() folds other characters too (the Kelvin sign is a k).
WHERE lower(email) = lower($1) AND email_verified AND disabled_at IS NULL
  AND email ~ '^[[:ascii:]]*$'
ORDER BY created_at
LIMIT 2
