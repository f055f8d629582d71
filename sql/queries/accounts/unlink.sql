-- Never the last identity: the user could not sign in again. What is removed (the same
-- subject may be there under two issuers of one re-pointed provider) must leave one behind.
-- Runs after lock_user, so two concurrent unlinks count each other's deletions. The sessions
-- signed in through what is removed end with it: the user said that account is not theirs
-- to sign in with any more. One row: how many identities went, and how many sessions ended.
WITH gone AS (
    DELETE FROM oauth.identities
    WHERE user_id = $1 AND provider = $2 AND subject = $3
      AND (SELECT count(*) FROM oauth.identities WHERE user_id = $1)
        > (SELECT count(*) FROM oauth.identities WHERE user_id = $1 AND provider = $2 AND subject = $3)
    RETURNING provider, issuer, subject
), ended AS (
    UPDATE oauth.sessions s SET ended_at = now(), end_reason = 'identity unlinked'
    FROM gone g
    WHERE s.user_id = $1 AND s.provider = g.provider AND s.identity_subject = g.subject
      AND s.identity_issuer = g.issuer AND s.ended_at IS NULL AND s.expires_at > now()
    RETURNING s.id
)
SELECT (SELECT count(*) FROM gone) AS unlinked, (SELECT count(*) FROM ended) AS sessions_ended
