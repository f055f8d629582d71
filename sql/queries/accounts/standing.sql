-- What a session of user $1 must be checked against: whether the user is disabled, and when
-- they were last deleted (epoch seconds; NULL: never). Both are 0.2.0 tables; the caller
-- asks only once oauth.users exists.
SELECT coalesce((SELECT disabled_at IS NOT NULL FROM oauth.users WHERE id = $1), false) AS disabled,
       (SELECT extract(epoch FROM deleted_at)::float8 FROM oauth.deleted_users WHERE sub = $1) AS deleted_at
