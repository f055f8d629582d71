-- One refresh of a DPoP-bound chain per transaction (a public client's: the proof must be by the
-- chain's key), through oauth.token with the chain's next proof. An error answer fails the
-- transaction, and so the run; so does running out of proofs (no proof is invalid_dpop_proof).
\set chain :client_id
WITH r AS (
    SELECT oauth.token(jsonb_build_object('grant_type', 'refresh_token', 'refresh_token', t.token,
                                          'client_id', :cid::text),
                       NULL,
                       (SELECT proof FROM bench_dpop_proofs p WHERE p.chain = t.chain AND p.seq = t.n + 1)) AS j
    FROM bench_dpop_rt t WHERE t.chain = :chain
)
UPDATE bench_dpop_rt SET token = (SELECT CASE WHEN j ? 'refresh_token' THEN j ->> 'refresh_token' ELSE (j::text)::boolean::text END FROM r),
       n = n + 1
WHERE chain = :chain;
