-- A client_credentials family stores the client as its user_id; it belongs to no user, so a
-- session whose sub happens to spell a client id must not reach it.
UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'revoked by the user'
WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL AND grant_type <> 'client_credentials'
