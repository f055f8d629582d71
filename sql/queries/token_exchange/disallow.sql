-- Removes a rule and ends, at once, the live families the client got by exchange for that
-- audience ($4: the default audience, whose families name no resource): their access tokens
-- stop verifying and their refresh tokens stop working, whether or not another rule would still
-- allow them (ending a family only ever reduces access). How many families were ended, or NULL
-- when there was no such rule.
WITH gone AS (
    DELETE FROM oauth.token_exchange_policies
    WHERE client_id = $1 AND from_audience = $2 AND to_audience = $3
    RETURNING client_id
), ended AS (
    UPDATE oauth.grants g SET revoked_at = now(), revoked_reason = 'exchange policy removed'
    FROM gone
    WHERE g.client_id = gone.client_id AND g.revoked_at IS NULL
      AND g.grant_type = 'urn:ietf:params:oauth:grant-type:token-exchange'
      AND g.exchange -> 'subject_audience' ? $2
      AND CASE WHEN $4 THEN g.resources = '{}' ELSE $3 = ANY (g.resources) END
    RETURNING g.id
)
SELECT (SELECT count(*) FROM ended) AS value FROM gone
