-- The exchange rules, of one client ($1) or of all (NULL), as oauth.token_exchange_policies()
-- returns them.
SELECT coalesce(jsonb_agg(jsonb_build_object(
           'client_id', client_id, 'from_audience', from_audience, 'to_audience', to_audience,
           'scopes', to_jsonb(scopes), 'may_act', may_act, 'refresh', refresh,
           'created_at', created_at)
       ORDER BY client_id, from_audience, to_audience), '[]') AS value
FROM oauth.token_exchange_policies WHERE $1::text IS NULL OR client_id = $1
