INSERT INTO oauth.sign_in_states (state_hash, binding_hash, provider, authorization_id, nonce,
                                  code_verifier, redirect_uri, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
