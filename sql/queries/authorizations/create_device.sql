-- A device authorization (RFC 8628). failures_at_start records the lockout counter now: the
-- wrong user codes entered during the request's life are the counter's growth since. A user
-- code collision with a live request inserts nothing, and the caller draws another code.
INSERT INTO oauth.authorizations (id, kind, client_id, scopes, resources, device_code_hash,
                                  user_code, poll_interval, expires_at, failures_at_start)
VALUES ($1, 'device', $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8),
        (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM oauth.user_code_failure_count))
ON CONFLICT (user_code) DO NOTHING
