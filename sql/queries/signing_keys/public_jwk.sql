-- Any stored key may verify: next, current or previous.
SELECT public_jwk AS value FROM oauth.signing_keys WHERE kid = $1
