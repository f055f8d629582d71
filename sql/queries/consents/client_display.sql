-- What the consent page shows of a client.
SELECT jsonb_build_object('client_id', client_id, 'name', name, 'client_uri', client_uri,
                          'logo_uri', logo_uri) AS value
FROM oauth.clients WHERE client_id = $1
