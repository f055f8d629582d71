-- The consent page's buttons: enabled providers, nothing else about them.
SELECT coalesce(jsonb_agg(jsonb_build_object(
        'name', name, 'kind', kind, 'display_name', options->>'display_name') ORDER BY name), '[]') AS value
FROM oauth.sign_in_providers
WHERE (options->>'enabled')::boolean
