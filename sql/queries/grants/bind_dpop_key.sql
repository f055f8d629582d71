-- RFC 9449 §5: the key a public client's family is bound to. Only run for a family that is
-- (a 0.1.0 schema, before ALTER EXTENSION UPDATE, has no column).
UPDATE oauth.grants SET dpop_jkt = $2 WHERE id = $1::uuid
