-- Every registered resource server, as the JSON oauth.resources() returns.
SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY resource), '[]') AS value FROM oauth.resources r
