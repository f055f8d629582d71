-- One refresh grant per transaction. Each pgbench client rotates its own token chain, so no
-- two clients ever present the same token (which would, correctly, revoke the family).
WITH r AS (
    SELECT oauth.refresh(token, ':cid', ':csec') AS j FROM bench_rt WHERE id = :client_id
)
UPDATE bench_rt SET token = (SELECT j ->> 'refresh_token' FROM r) WHERE id = :client_id;
