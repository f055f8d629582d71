-- A client's default resources ($2; NULL: none). A statement of its own, run only when some are
-- set or were, so that a 0.1.0 schema (before ALTER EXTENSION UPDATE, no such column) keeps
-- serving every client without any.
UPDATE oauth.clients SET default_resources = $2, updated_at = now()
WHERE client_id = $1 AND default_resources IS DISTINCT FROM $2
