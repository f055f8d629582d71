-- A delivery that cannot be sent at all (its client has no backchannel_logout_uri any more, or
-- its token could not be made): given up, saying why.
UPDATE oauth.logout_deliveries SET given_up_at = now(), last_error = $2
WHERE id = $1::uuid AND delivered_at IS NULL AND given_up_at IS NULL
