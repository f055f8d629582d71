-- RFC 9126: the request came pushed (oauth.par). Only run for such a request (a 0.1.0 schema,
-- before ALTER EXTENSION UPDATE, has no column).
UPDATE oauth.authorizations SET pushed = true WHERE id = $1
