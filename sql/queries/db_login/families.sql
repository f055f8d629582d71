-- The token families of the clients $1 that may sign in to the database now, for the login
-- snapshot (services::db_login): not revoked, not a machine's, not past the end an exchange
-- gave them, their user not disabled (a deleted user's families are gone), the session of ours
-- that approved them not ended; with what each holds today (its scopes that its client may
-- still have; its resources) and what issuer trust and the client switches need to be judged
-- in Rust as access-token verification judges them (grants/is_live.sql).
SELECT g.id::text AS id, g.user_id, g.client_id,
       CASE WHEN c.scopes IS NULL THEN g.scopes
            ELSE ARRAY(SELECT s FROM pg_catalog.unnest(g.scopes) s WHERE s = ANY (c.scopes)) END AS scopes,
       g.resources,
       g.user_claims->>'iss' AS issuer,
       i.options AS issuer_options,
       CASE WHEN i.issuer IS NOT NULL THEN g.user_claims END AS user_claims,
       c.metadata_document_fetched_at IS NOT NULL AS metadata_document
FROM oauth.grants g
JOIN oauth.clients c ON c.client_id = g.client_id
LEFT JOIN oauth.issuers i ON i.issuer = g.user_claims->>'iss'
WHERE g.client_id = ANY ($1::text[])
  AND g.revoked_at IS NULL
  AND g.grant_type <> 'client_credentials'
  AND (g.expires_at IS NULL OR g.expires_at > now())
  AND NOT EXISTS (SELECT FROM oauth.users u WHERE u.id = g.user_id AND u.disabled_at IS NOT NULL)
  AND NOT EXISTS (
      SELECT FROM oauth.sessions s
      WHERE s.id = CASE WHEN g.user_claims->>'sid'
                             ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                        THEN (g.user_claims->>'sid')::uuid END
        AND s.user_id = g.user_id AND s.ended_at IS NOT NULL)
