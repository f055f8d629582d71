-- A later revocation moves the line: the sessions refused are those issued before the latest.
INSERT INTO oauth.revoked_users (issuer, sub) VALUES ($1, $2)
ON CONFLICT (issuer, sub) DO UPDATE SET revoked_at = now()
RETURNING to_jsonb(revoked_at) AS value
