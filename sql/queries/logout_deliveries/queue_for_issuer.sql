-- A trusted issuer's user revoked (oauth.revoke_user): the clients with families a session of
-- that issuer approved are told, by sub (no session of ours names them).
SELECT oauth.queue_logouts($1, NULL, 'user revoked', $2)
