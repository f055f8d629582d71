-- The same scan and filter with a constant and no policy: the cost the policy adds is the
-- difference.
BEGIN;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT count(*) FROM docs_baseline WHERE client_id = 'client-3';
COMMIT;
