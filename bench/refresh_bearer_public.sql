-- The same transaction as refresh_dpop.sql (the same lookups, the proof read and dropped) for a
-- bearer chain of the same public client: the difference between the two is what DPoP costs.
\set chain :client_id + :chains
WITH r AS (
    SELECT oauth.token(jsonb_build_object('grant_type', 'refresh_token', 'refresh_token', t.token,
                                          'client_id', :cid::text),
                       NULL,
                       (SELECT NULL::text FROM bench_dpop_proofs p WHERE p.chain = t.chain - :chains AND p.seq = t.n + 1)) AS j
    FROM bench_dpop_rt t WHERE t.chain = :chain
)
UPDATE bench_dpop_rt SET token = (SELECT CASE WHEN j ? 'refresh_token' THEN j ->> 'refresh_token' ELSE (j::text)::boolean::text END FROM r),
       n = n + 1
WHERE chain = :chain;
