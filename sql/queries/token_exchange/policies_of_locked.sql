-- The exchange rules of one client, for an exchange: held (FOR SHARE) until this transaction
-- ends, so that a removal waits for the exchange, then ends the family it made
-- (oauth.exchange_policy_removed).
SELECT client_id, from_audience, to_audience, scopes, may_act, refresh
FROM oauth.token_exchange_policies WHERE client_id = $1
FOR SHARE
