-- What the user has allowed, per client, newest first: the user's own view (oauth.grants()).
SELECT coalesce(jsonb_agg(jsonb_build_object(
           'client', jsonb_build_object('client_id', c.client_id, 'name', c.name,
                                        'client_uri', c.client_uri, 'logo_uri', c.logo_uri),
           'scopes', (SELECT coalesce(jsonb_agg(DISTINCT sc ORDER BY sc), '[]')
                      FROM jsonb_each(s.scopes_by_audience) e, jsonb_array_elements_text(e.value) sc),
           'resources', (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]')
                         FROM jsonb_object_keys(s.scopes_by_audience) k),
           'scopes_by_audience', s.scopes_by_audience, 'granted_at', s.granted_at, 'updated_at', s.updated_at,
           'last_used_at', (SELECT max(g.last_used_at) FROM oauth.grants g
                            WHERE g.user_id = s.user_id AND g.client_id = s.client_id))
         ORDER BY s.updated_at DESC), '[]') AS value
FROM oauth.consents s JOIN oauth.clients c USING (client_id)
WHERE s.user_id = $1 AND s.revoked_at IS NULL
