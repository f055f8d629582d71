-- Never the last identity: the user could not sign in again. What is removed (the same
-- subject may be there under two issuers of one re-pointed provider) must leave one behind.
-- Runs after lock_user, so two concurrent unlinks count each other's deletions.
DELETE FROM oauth.identities
WHERE user_id = $1 AND provider = $2 AND subject = $3
  AND (SELECT count(*) FROM oauth.identities WHERE user_id = $1)
    > (SELECT count(*) FROM oauth.identities WHERE user_id = $1 AND provider = $2 AND subject = $3)
