-- Privileges and pg_dump registration; runs after every function exists.

-- Nothing is readable or writable by PUBLIC: all access goes through functions.
REVOKE ALL ON ALL TABLES IN SCHEMA oauth FROM PUBLIC;
-- Nor by any other role: default privileges the installing role had (ALTER DEFAULT
-- PRIVILEGES … GRANT SELECT ON TABLES TO reporting) were applied to every object created
-- above. Take back whatever any role but the owner holds, then grant per function below.
DO $$
DECLARE
    revoke text;
BEGIN
    FOR revoke IN
        SELECT format('REVOKE ALL ON TABLE %s FROM %s', c.oid::regclass, a.grantee::regrole)
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, c.relowner)
        UNION
        SELECT format('REVOKE ALL ON FUNCTION %s FROM %s', p.oid::regprocedure, a.grantee::regrole)
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.pronamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, p.proowner)
        UNION
        -- CREATE on the schema would let a role plant objects where our search_path looks first.
        SELECT format('REVOKE ALL ON SCHEMA oauth FROM %s', a.grantee::regrole)
        FROM pg_namespace n, aclexplode(n.nspacl) a
        WHERE n.oid = 'oauth'::regnamespace AND a.grantee NOT IN (0, n.nspowner)
    LOOP
        EXECUTE revoke;
    END LOOP;
END
$$;
REVOKE ALL ON SCHEMA oauth FROM PUBLIC;
-- Postgres grants EXECUTE to PUBLIC on new functions; take it back, then grant per function.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oauth FROM PUBLIC;
GRANT USAGE ON SCHEMA oauth TO PUBLIC;

-- RLS helpers: read only the caller's own request.jwt.claims.
GRANT EXECUTE ON FUNCTION
    oauth.jwt(), oauth.uid(), oauth.client_id(), oauth.scopes(), oauth.has_scope(text),
    oauth.session_issuer(),
    -- Reads only the caller's own request.headers, request.method and request.path.
    oauth.dpop_jkt(),
    -- The request's own act claim (RFC 8693 delegation).
    oauth.actor(), oauth.act_chain()
TO PUBLIC;

-- Client-facing protocol steps: each authenticates its caller from its own arguments (client
-- secret, code + PKCE verifier, refresh token, signed session token).
GRANT EXECUTE ON FUNCTION
    oauth.authorize(jsonb),
    oauth.exchange_code(text, text, text, text, text, text),
    oauth.refresh(text, text, text, text),
    oauth.jwks(),
    oauth.verify(text),
    -- Verifies a session token against our keys or a trusted issuer's; reveals no more than
    -- the token's own claims.
    oauth.verify_session(text),
    oauth.authorization(text, text),
    oauth.consent(text, boolean, text),
    oauth.token(jsonb, text),
    oauth.token(jsonb, text, text),
    oauth.device_authorization(jsonb, text),
    oauth.protected_resource_metadata(text),
    oauth.protected_resource_metadata_at(text),
    oauth.revoke(jsonb, text),
    oauth.introspect(jsonb, text),
    oauth.userinfo(text),
    oauth.userinfo(text, text, text),
    -- Checks a token presented with its DPoP proof; remembers only the proof's jti.
    oauth.verify_dpop(text, text, text, text),
    -- Pushed authorization requests: authenticate the client as token does.
    oauth.par(jsonb, text, text),
    oauth.push_authorization_request(jsonb, text, text),
    oauth.metadata(),
    oauth.grants(text),
    oauth.revoke_grant(text, text),
    -- The consent page's buttons; starting a sign-in only stores a state for this browser.
    oauth.sign_in_buttons(),
    oauth.begin_sign_in(text, text, text),
    oauth.identities(text),
    oauth.unlink_identity(text, text, text),
    oauth.sign_out(text),
    -- Ends a session only for the holder of its ID token; redirects only where registered.
    oauth.end_session(jsonb),
    -- Only ends a prompt=none request with the error the client asked for instead of UI.
    oauth.prompt_none_failed(text, text),
    -- Refuses unless the DBA turned oauth_server.dynamic_registration on.
    oauth.register_client(jsonb),
    -- Authorised by its credential argument: an administrator key or an admin-role session.
    oauth.admin_clients(text, text, text, jsonb),
    oauth.admin_users(text, text, text, jsonb)
TO PUBLIC;

-- oauth.authorization(text), oauth.consent(text, boolean), oauth.grants() and
-- oauth.revoke_grant(text) trust request.jwt.claims, which
-- any role able to run arbitrary SQL can set. They are granted only to roles that cannot:
-- PostgREST's `authenticated` role when it exists, and whatever role the DBA grants them to
-- (the front's). Administration functions stay with the owner unless the DBA grants them.
-- (The only thing of the cluster the install reads: pgrx-tests' TestDb keys its template
-- database on it, and another such read needs a place in that key.)
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
        GRANT EXECUTE ON FUNCTION oauth.authorization(text), oauth.consent(text, boolean),
            oauth.grants(), oauth.revoke_grant(text), oauth.identities(),
            oauth.unlink_identity(text, text)
        TO authenticated;
    END IF;
END
$$;

-- pg_dump keeps the data of extension tables only when they are registered.
SELECT pg_catalog.pg_extension_config_dump('oauth.scopes', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.clients', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.authorizations', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.consents', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.grants', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.refresh_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.issuers', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.resources', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.user_code_failures', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.user_code_failure_count', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.client_post_logout_uris', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.sign_in_providers', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.users', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.identities', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.sign_in_states', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.admin_keys', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.revoked_users', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.deleted_users', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.used_jtis', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.dpop_nonces', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.pushed_requests', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.client_jwks', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.token_exchange_policies', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.client_sector_documents', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.subject_secret', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.logout_deliveries', '');
