-- The identity a new session was signed in through, so that unlinking it ends the session.
UPDATE oauth.sessions SET identity_issuer = $2, identity_subject = $3
WHERE id = $1::uuid
