-- Benchmark fixtures: a confidential client and one refresh token chain per pgbench client.
-- The client may also use client_credentials (scripts/bench-http.sh's client_credentials phase).
CREATE EXTENSION IF NOT EXISTS oauth_server;
CREATE TABLE bench_client AS
    SELECT oauth.create_client('bench', ARRAY['http://127.0.0.1/callback'], 'confidential', ARRAY['openid','email'],
                               grant_types => ARRAY['authorization_code', 'refresh_token', 'client_credentials']) AS c;

CREATE TABLE bench_rt (id int PRIMARY KEY, token text);
DO $$
DECLARE
    c jsonb := (SELECT c FROM bench_client);
    aid text; code text; t jsonb;
BEGIN
    FOR i IN 0..63 LOOP
        aid := substring(oauth.authorize(jsonb_build_object('client_id', c->>'client_id', 'redirect_uri', 'http://127.0.0.1/callback',
            'response_type', 'code', 'scope', 'openid email', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            'code_challenge_method', 'S256')) ->> 'redirect_to' FROM 'authorization_id=([^&]+)');
        PERFORM set_config('request.jwt.claims', jsonb_build_object('sub', 'refresh-user-' || i)::text, true);
        code := substring(oauth.consent(aid, true) ->> 'redirect_to' FROM 'code=([^&]+)');
        t := oauth.exchange_code(code, 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'http://127.0.0.1/callback',
                                 c->>'client_id', c->>'client_secret');
        INSERT INTO bench_rt VALUES (i, t->>'refresh_token');
    END LOOP;
END $$;

