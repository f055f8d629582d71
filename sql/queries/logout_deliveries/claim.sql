-- Claims up to $1 deliveries that are due, oldest due first, for $2 seconds (a lease: one
-- another front claims only once it has passed, which outlasts the delivery's timeout); each
-- claim is an attempt. SKIP LOCKED: fronts claiming at once share the work.
WITH due AS (
    SELECT id FROM oauth.logout_deliveries
    WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE oauth.logout_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
FROM due WHERE d.id = due.id
RETURNING d.id::text AS id, d.client_id, d.uri, d.user_id, d.sid, d.jti
