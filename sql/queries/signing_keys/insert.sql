-- A key becomes active when it is inserted as current; a next key is activated on promotion.
INSERT INTO oauth.signing_keys (kid, alg, status, public_jwk, private_key, kek_id, activated_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $3 = 'current' THEN now() END)
