-- Wrong user codes count for the per-user window (10 minutes) and for the lockout of the
-- device requests live while they were entered (at most one request lifetime): $1 seconds,
-- the longer of the two.
DELETE FROM oauth.user_code_failures WHERE at < now() - make_interval(secs => $1)
