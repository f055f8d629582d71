-- Requests the user approved (or opened) that have not issued tokens yet: a code approved
-- before the revocation must not redeem after it. Attributed as the families are.
UPDATE oauth.authorizations SET status = 'denied', code_hash = NULL
WHERE user_id = $2 AND status IN ('pending', 'approved')
    AND coalesce(user_claims->>'iss', $1) = $1
