-- Today's grounds of a stored decision (docs/security.md#decisions-that-outlive-their-grounds):
-- the client as it is now, which of the decision's scopes ($2) are rows of oauth.scopes, and
-- which of its resources ($3) are still registered resource servers, and what oauth.issuers says
-- today of the issuer of the session that approved it ($4, user_claims->>'iss'; NULL: none
-- recorded): NULL when no row names it exactly (never trusted, or removed), else its options,
-- the policy that decisions::grounds::issuer_still_trusted reads (enabled, and whether it still
-- admits the approving session). No row: the client is gone. (Whether the
-- user is disabled is asked of accounts::is_disabled: oauth.users does not exist in a 0.1.0
-- schema, which this library serves until ALTER EXTENSION UPDATE.)
-- Read-only, so it runs on a standby too.
SELECT c.scopes AS client_scopes, c.redirect_uris, c.grant_types,
       ARRAY(SELECT s FROM unnest($2::text[]) s
             WHERE EXISTS (SELECT FROM oauth.scopes x WHERE x.name = s)) AS registered_scopes,
       ARRAY(SELECT r FROM unnest($3::text[]) r
             WHERE EXISTS (SELECT FROM oauth.resources x WHERE x.resource = r)) AS registered_resources,
       (SELECT i.options FROM oauth.issuers i WHERE i.issuer = $4) AS issuer_options,
       -- Through to_jsonb: a 0.1.0 schema (before ALTER EXTENSION UPDATE) has no such column.
       coalesce((to_jsonb(c) ->> 'require_pushed_authorization_requests')::boolean, false)
           AS require_pushed_authorization_requests
FROM oauth.clients c
WHERE c.client_id = $1
