-- Token exchange fixtures (RFC 8693): a user's access token of the bench client for an MCP
-- server, and an agent allowed to act for the user toward an API (bench/token_exchange.sql).
SELECT oauth.add_resource('https://mcp.bench.example/');
SELECT oauth.add_resource('https://api.bench.example/');
CREATE TABLE bench_exchange AS
    SELECT oauth.create_client('bench agent', '{}', 'confidential', NULL,
               ARRAY['urn:ietf:params:oauth:grant-type:token-exchange']) AS agent,
           NULL::text AS subject;
SELECT oauth.allow_token_exchange((SELECT agent->>'client_id' FROM bench_exchange),
    'https://mcp.bench.example/', 'https://api.bench.example/', ARRAY['email'], true);
DO $$
DECLARE
    c jsonb := (SELECT c FROM bench_client);
    aid text; code text; t jsonb;
BEGIN
    aid := substring(oauth.authorize(jsonb_build_object('client_id', c->>'client_id', 'redirect_uri', 'http://127.0.0.1/callback',
        'response_type', 'code', 'scope', 'openid email', 'resource', 'https://mcp.bench.example/',
        'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        'code_challenge_method', 'S256')) ->> 'redirect_to' FROM 'authorization_id=([^&]+)');
    PERFORM set_config('request.jwt.claims', jsonb_build_object('sub', 'exchange-user')::text, true);
    code := substring(oauth.consent(aid, true) ->> 'redirect_to' FROM 'code=([^&]+)');
    t := oauth.exchange_code(code, 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'http://127.0.0.1/callback',
                             c->>'client_id', c->>'client_secret', 'https://mcp.bench.example/');
    UPDATE bench_exchange SET subject = t->>'access_token';
END $$;
