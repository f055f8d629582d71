-- Consents record no issuer: every consent of this sub is withdrawn. Another issuer's user
-- with the same sub is only asked again.
UPDATE oauth.consents SET revoked_at = now(), updated_at = now()
WHERE user_id = $1 AND revoked_at IS NULL
