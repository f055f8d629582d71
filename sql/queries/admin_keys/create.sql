-- A new administrator key: only its hash is stored. Nothing when the name is taken.
INSERT INTO oauth.admin_keys (name, key_hash) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
RETURNING true AS value
