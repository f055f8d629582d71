-- Benchmark fixtures: a confidential client, one refresh token chain per pgbench client, and
-- four identical 1M-row tables with different policies.
CREATE EXTENSION IF NOT EXISTS oauth_server;
CREATE TABLE bench_client AS
    SELECT oauth.create_client('bench', ARRAY['http://127.0.0.1/callback'], 'confidential', ARRAY['openid','email']) AS c;

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

DO $$ BEGIN CREATE ROLE bench_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE TABLE docs_baseline AS
    SELECT g AS id, 'client-' || (g % 10) AS client_id, 'user-' || (g % 1000) AS owner FROM generate_series(1, 1000000) g;
CREATE TABLE docs_helper (LIKE docs_baseline);   INSERT INTO docs_helper SELECT * FROM docs_baseline;
CREATE TABLE docs_raw (LIKE docs_baseline);      INSERT INTO docs_raw SELECT * FROM docs_baseline;
CREATE TABLE docs_initplan (LIKE docs_baseline); INSERT INTO docs_initplan SELECT * FROM docs_baseline;
ALTER TABLE docs_helper ENABLE ROW LEVEL SECURITY;
ALTER TABLE docs_raw ENABLE ROW LEVEL SECURITY;
ALTER TABLE docs_initplan ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON docs_helper FOR SELECT TO bench_reader USING (client_id = oauth.client_id());
CREATE POLICY p ON docs_raw FOR SELECT TO bench_reader
    USING (client_id = (current_setting('request.jwt.claims', true)::jsonb ->> 'client_id'));
CREATE POLICY p ON docs_initplan FOR SELECT TO bench_reader USING (client_id = (SELECT oauth.client_id()));
GRANT SELECT ON docs_helper, docs_raw, docs_initplan TO bench_reader;
VACUUM ANALYZE;
