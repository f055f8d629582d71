-- The exchange rules of one client (oauth.token_exchange_policies), for deciding a derived
-- family's refresh (its family row is locked: a removal's trigger waits for it) and for
-- introspection, which may run on a standby.
SELECT client_id, from_audience, to_audience, scopes, may_act, refresh
FROM oauth.token_exchange_policies WHERE client_id = $1
