-- RFC 9449 §5.2's dpop_bound_access_tokens. A statement of its own, run only when the flag is
-- set or changes, so that a 0.1.0 schema (before ALTER EXTENSION UPDATE, no such column)
-- keeps serving every client that does not ask for it.
UPDATE oauth.clients SET dpop_bound_access_tokens = $2
WHERE client_id = $1 AND dpop_bound_access_tokens IS DISTINCT FROM $2
