-- The exchange rules of one client (oauth.token_exchange_policies), for the exchange decision.
SELECT client_id, from_audience, to_audience, scopes, may_act, refresh
FROM oauth.token_exchange_policies WHERE client_id = $1
