-- Never the last identity: the user could not sign in again. Runs after lock_user, so two
-- concurrent unlinks count each other's deletions.
DELETE FROM oauth.identities
WHERE user_id = $1 AND provider = $2 AND subject = $3
  AND (SELECT count(*) FROM oauth.identities WHERE user_id = $1) > 1
