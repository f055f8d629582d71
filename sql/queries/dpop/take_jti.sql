-- Takes a jti (of a DPoP proof or a client assertion) for the first time: a row when it is
-- new, none when it was taken before and could still be (a replay). A row left past its
-- expiry (the purge has not run) is taken again. Concurrent takers of one jti serialise on
-- the primary key ($1, the hash of kind, issuer and jti): the second sees the first's row.
INSERT INTO oauth.used_jtis AS u (key, kind, issuer, jti, expires_at)
VALUES ($1, $2, $3, $4, to_timestamp($5::float8))
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
    WHERE u.expires_at < now()
RETURNING true AS value
