-- Claims up to $1 deliveries that are due, oldest due first, for $2 seconds (a lease: one
-- another front claims only once it has passed, which outlasts the delivery's timeout); each
-- claim is an attempt. SKIP LOCKED: fronts claiming at once share the work. Each goes where its
-- client says now (uri NULL: the client no longer has a backchannel_logout_uri).
WITH due AS (
    SELECT d.id, c.relying_party ->> 'backchannel_logout_uri' AS uri
    FROM oauth.logout_deliveries d JOIN oauth.clients c ON c.client_id = d.client_id
    WHERE d.delivered_at IS NULL AND d.given_up_at IS NULL AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE oauth.logout_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2),
    uri = coalesce(due.uri, d.uri)
FROM due WHERE d.id = due.id
RETURNING d.id::text AS id, d.client_id, due.uri, d.user_id, d.sid, d.jti, d.attempts
