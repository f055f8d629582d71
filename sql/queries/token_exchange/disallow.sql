-- Removes a rule; the families it could have made are ended by oauth.exchange_policy_removed.
-- Whether there was one.
DELETE FROM oauth.token_exchange_policies
WHERE client_id = $1 AND from_audience = $2 AND to_audience = $3
