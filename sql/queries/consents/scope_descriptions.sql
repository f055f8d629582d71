SELECT coalesce(jsonb_object_agg(name, description), '{}') AS value
FROM oauth.scopes WHERE name = ANY($1)
