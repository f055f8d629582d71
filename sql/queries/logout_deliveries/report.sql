-- What a delivery got: a 2xx delivers it (never sent again); otherwise it is tried again after
-- 5 s, doubling per attempt up to an hour, and given up after 12 attempts, a day, or a 4xx
-- other than 408 and 429 (the client refused the token itself). $2: the HTTP status, NULL when
-- none came (no connection, a timeout); $3: why. Nothing for a delivery already delivered or
-- given up, or whose attempt ($4, when given) is no longer the latest: a report that lost a
-- race with its lease's end never overwrites the newer attempt's.
WITH r AS (
    SELECT coalesce($2 BETWEEN 200 AND 299, false) AS ok,
           coalesce($2 BETWEEN 400 AND 499 AND $2 NOT IN (408, 429), false) AS refused
)
UPDATE oauth.logout_deliveries d
SET last_status = $2, last_error = CASE WHEN r.ok THEN NULL ELSE $3 END,
    delivered_at = CASE WHEN r.ok THEN now() END,
    next_attempt_at = CASE WHEN r.ok THEN d.next_attempt_at
                           ELSE now() + make_interval(secs => least(3600, 5 * power(2, d.attempts - 1))) END,
    given_up_at = CASE WHEN NOT r.ok AND (r.refused OR d.attempts >= 12
                                          OR d.created_at < now() - interval '1 day')
                       THEN now() END
FROM r
WHERE d.id = $1::uuid AND d.delivered_at IS NULL AND d.given_up_at IS NULL
  AND ($4::int IS NULL OR d.attempts = $4)
RETURNING jsonb_build_object('id', d.id, 'state', CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered'
                                                      WHEN d.given_up_at IS NOT NULL THEN 'given_up'
                                                      ELSE 'pending' END,
                             'attempts', d.attempts, 'next_attempt_at', d.next_attempt_at) AS value
