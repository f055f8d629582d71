-- Sessions that ended or expired more than $1 seconds ago: their tokens no longer verify.
DELETE FROM oauth.sessions
WHERE coalesce(least(ended_at, expires_at), expires_at) < now() - make_interval(secs => $1)
