-- RFC 9449 §10: the key the authorization request bound its code to (dpop_jkt). Only run for
-- a request that names one (a 0.1.0 schema, before ALTER EXTENSION UPDATE, has no column).
UPDATE oauth.authorizations SET dpop_jkt = $2 WHERE id = $1
