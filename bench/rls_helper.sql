-- count(*) over 1M rows under the policy USING (client_id = oauth.client_id()).
BEGIN;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT set_config('request.jwt.claims', '{"sub":"u1","role":"authenticated","client_id":"client-3","scope":"openid"}', true);
SET LOCAL ROLE bench_reader;
SELECT count(*) FROM docs_helper;
COMMIT;
