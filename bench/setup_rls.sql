-- RLS benchmark fixtures: four identical 1M-row tables with different policies.
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
