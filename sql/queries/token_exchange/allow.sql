-- Writes a rule, or replaces the one for the same client and audiences.
INSERT INTO oauth.token_exchange_policies AS p
    (client_id, from_audience, to_audience, scopes, may_act, refresh)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (client_id, from_audience, to_audience) DO UPDATE
SET scopes = EXCLUDED.scopes, may_act = EXCLUDED.may_act, refresh = EXCLUDED.refresh,
    created_at = now()
