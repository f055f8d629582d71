-- The first use makes the secret. Of two first uses at once, the second waits for the first's
-- row and inserts nothing; it then reads the secret that stands with a statement of its own.
INSERT INTO oauth.subject_secret (secret, kek_id) VALUES ($1, $2)
ON CONFLICT (only_one) DO NOTHING
RETURNING secret, kek_id, true AS mine
