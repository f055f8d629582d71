-- The state of a callback, locked: two callbacks with one state serialise here, and the
-- second sees what the first did.
SELECT provider, binding_hash, authorization_id, nonce, code_verifier, redirect_uri, status,
       expires_at < now() AS expired
FROM oauth.sign_in_states
WHERE state_hash = $1
FOR UPDATE
