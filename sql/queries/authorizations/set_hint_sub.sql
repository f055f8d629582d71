-- The user a request's id_token_hint names. Its own statement, run only for requests with a
-- hint, so that requests without one still work on a 0.1.0 schema (before ALTER EXTENSION
-- UPDATE), which has no such column; a hint there fails rather than being ignored.
UPDATE oauth.authorizations SET hint_sub = $2 WHERE id = $1
