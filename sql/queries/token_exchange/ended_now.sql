-- How many of a client's families this transaction ended for a removed exchange rule.
SELECT count(*) AS value FROM oauth.grants
WHERE client_id = $1 AND revoked_reason = 'exchange policy removed' AND revoked_at = now()
