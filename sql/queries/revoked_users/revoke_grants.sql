-- The user's token families. A family records the issuer of the session that approved it
-- (user_claims->>'iss'): one of another issuer, or of ours, is another person who happens to
-- have the same sub, and is spared. One that records none (approved before 0.2.0, or through
-- claims without an iss) may be this user's and is revoked: the safe side. A
-- client_credentials family belongs to no user.
UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'user revoked'
WHERE user_id = $2 AND revoked_at IS NULL AND grant_type <> 'client_credentials'
    AND coalesce(user_claims->>'iss', $1) = $1
