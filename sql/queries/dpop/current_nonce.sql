-- The nonce to hand out: the newest, while it is younger than $1 seconds; else a new one.
-- Two transactions may each add one at a turn: both are valid.
WITH newest AS (
    SELECT nonce FROM oauth.dpop_nonces
    WHERE issued_at > now() - make_interval(secs => $1)
    ORDER BY issued_at DESC LIMIT 1
), added AS (
    INSERT INTO oauth.dpop_nonces (nonce)
    SELECT $2 WHERE NOT EXISTS (SELECT FROM newest)
    RETURNING nonce
)
SELECT nonce AS value FROM newest UNION ALL SELECT nonce FROM added
