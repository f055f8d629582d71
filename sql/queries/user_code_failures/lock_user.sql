-- Serialises one user's tries until the transaction ends, so parallel guesses cannot all read
-- the count before any of them adds to it.
SELECT pg_advisory_xact_lock(hashtextextended('oauth.user_codes:' || $1, 0))
