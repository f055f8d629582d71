-- One refresh grant per transaction. Each pgbench client rotates its own token chain, so no
-- two clients ever present the same token (which would, correctly, revoke the family). An
-- error answer fails the transaction (its text does not cast to boolean), and so the run.
WITH r AS (
    SELECT oauth.refresh(token, :cid::text, :csec::text) AS j FROM bench_rt WHERE id = :client_id
)
UPDATE bench_rt SET token = (SELECT CASE WHEN j ? 'refresh_token' THEN j ->> 'refresh_token' ELSE (j::text)::boolean::text END FROM r)
WHERE id = :client_id;
