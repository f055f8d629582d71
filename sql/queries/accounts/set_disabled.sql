-- Disables ($2) or enables user $1; the trigger on oauth.users ends the sessions and audits.
-- A row only when the state changed.
UPDATE oauth.users SET disabled_at = CASE WHEN $2 THEN now() END
WHERE id = $1 AND (disabled_at IS NOT NULL) <> $2
RETURNING id
