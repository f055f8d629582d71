-- Requests the user approved (or opened) but the client has not redeemed yet: a withdrawn
-- consent must not be redeemable a moment later.
UPDATE oauth.authorizations SET status = 'denied', code_hash = NULL
WHERE user_id = $1 AND client_id = $2 AND status IN ('pending', 'approved')
