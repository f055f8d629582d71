-- The user's live consent to a client, per audience; a withdrawn one reads as empty.
SELECT CASE WHEN revoked_at IS NULL THEN scopes_by_audience ELSE '{}' END AS scopes_by_audience
FROM oauth.consents WHERE user_id = $1 AND client_id = $2
