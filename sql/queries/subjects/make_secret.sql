-- The first use makes the secret; of two first uses at once, one row wins and both read it.
WITH made AS (
    INSERT INTO oauth.subject_secret (secret, kek_id) VALUES ($1, $2)
    ON CONFLICT (only_one) DO NOTHING
    RETURNING secret, kek_id
)
SELECT secret, kek_id FROM made
UNION ALL
SELECT secret, kek_id FROM oauth.subject_secret WHERE NOT EXISTS (SELECT FROM made)
