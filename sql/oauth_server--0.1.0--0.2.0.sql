-- oauth_server 0.1.0 -> 0.2.0. Every schema change made after 0.1.0 goes here, in order, so
-- that ALTER EXTENSION oauth_server UPDATE brings a 0.1.0 install to exactly what a fresh
-- 0.2.0 install has (scripts/upgrade-test.sh checks it). Functions whose SQL signature or
-- attributes change are dropped and created again here; their C symbols stay in the library.

-- The grant types stored are the closed set of model::GrantType; a grant row is an
-- authorization code's (device codes too) or client_credentials'. 0.1.0 wrote nothing else.
ALTER TABLE oauth.clients ADD CONSTRAINT clients_grant_types_known CHECK (
    grant_types <@ ARRAY['authorization_code', 'refresh_token', 'client_credentials',
                         'urn:ietf:params:oauth:grant-type:device_code',
                             'urn:ietf:params:oauth:grant-type:token-exchange']::text[]);
ALTER TABLE oauth.grants ADD CONSTRAINT grants_grant_type_known
    CHECK (grant_type IN ('authorization_code', 'client_credentials',
                              'urn:ietf:params:oauth:grant-type:token-exchange'));

-- How a client came to be: 'manual' (an administrator) or 'dynamic' (RFC 7591). Clients
-- registered before 0.2.0 cannot be told apart and count as 'manual'.
ALTER TABLE oauth.clients ADD COLUMN registration_type text NOT NULL DEFAULT 'manual'
    CHECK (registration_type IN ('manual', 'dynamic'));

-- OIDC RP-Initiated Logout: where oauth.end_session may send the browser back after a
-- client's logout, exactly. Apart from oauth.clients so that the 0.1.0 schema keeps working
-- with the 0.2.0 library until ALTER EXTENSION UPDATE (a client without any has no row).
CREATE TABLE oauth.client_post_logout_uris (
    client_id  text PRIMARY KEY REFERENCES oauth.clients ON DELETE CASCADE,
    uris       text[] NOT NULL CHECK (cardinality(uris) BETWEEN 1 AND 10)
);

-- Upstream sign-in providers (we are their relying party): Apple, Microsoft Entra, WorkOS,
-- GitHub, any OpenID Provider. `options` is validated and filled in (oauth-core's
-- upstream::Provider); the client secret and Apple's .p8 key are kept apart in `secrets`,
-- a JSON object sealed with the key-encryption key when one is configured (secrets_kek_id
-- names it), never returned. `discovery` and `jwks` are what the front fetched.
CREATE TABLE oauth.sign_in_providers (
    name                text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    kind                text NOT NULL CHECK (kind IN ('oidc', 'apple', 'microsoft', 'workos', 'github')),
    options             jsonb NOT NULL,
    secrets             bytea NOT NULL,
    secrets_kek_id      text,
    discovery           jsonb,
    jwks                jsonb NOT NULL DEFAULT '{"keys": []}',
    metadata_fetched_at timestamptz,
    last_error          text,
    last_error_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Users of installs without a login of their own: `id` is the stable `sub` of every token
-- (what oauth.uid() returns), whichever identity signed in. The email is the one of the
-- identity that last signed in with a verified email, else of the first identity.
CREATE TABLE oauth.users (
    id              text PRIMARY KEY DEFAULT gen_random_uuid()::text
                    CHECK (length(id) BETWEEN 1 AND 255),
    email           text,
    email_verified  boolean NOT NULL DEFAULT false,
    -- OpenID Connect profile claims: name, given_name, family_name, picture, preferred_username.
    profile         jsonb NOT NULL DEFAULT '{}',
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);
-- Linking by verified email (oauth_server.link_verified_email) looks users up here.
CREATE INDEX users_verified_email ON oauth.users (lower(email)) WHERE email_verified;

-- One row per upstream identity. The issuer is part of the key: the same `sub` from another
-- issuer (a provider reconfigured to another OP, another Entra tenant) is another person.
CREATE TABLE oauth.identities (
    provider        text NOT NULL REFERENCES oauth.sign_in_providers ON DELETE CASCADE,
    issuer          text NOT NULL,
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id         text NOT NULL REFERENCES oauth.users ON DELETE CASCADE ON UPDATE CASCADE,
    email           text,
    email_verified  boolean NOT NULL DEFAULT false,
    profile         jsonb NOT NULL DEFAULT '{}',
    -- Provider-specific facts: tid/oid, connection_id, is_private_email, login.
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, issuer, subject)
);
CREATE INDEX identities_user ON oauth.identities (user_id);

-- Sign-ins in flight: the `state` sent upstream (stored hashed), the browser it belongs to
-- (the hash of the front's cookie), the nonce and PKCE verifier. pending -> exchanging (the
-- code is being redeemed upstream) -> done or failed; single use, short-lived.
CREATE TABLE oauth.sign_in_states (
    state_hash       bytea PRIMARY KEY,
    binding_hash     bytea NOT NULL,
    provider         text NOT NULL REFERENCES oauth.sign_in_providers ON DELETE CASCADE,
    authorization_id text NOT NULL,
    nonce            text NOT NULL,
    code_verifier    text,
    redirect_uri     text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'exchanging', 'done', 'failed')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL
);
CREATE INDEX sign_in_states_expires ON oauth.sign_in_states (expires_at);

-- First-party sessions: every session token we sign carries its row's id as `sid`, so a
-- session ends server-side (sign-out, RP-initiated logout, an administrator) before its
-- token expires. `user_id` is not a reference: oauth.issue_session_token serves apps whose
-- users live elsewhere.
CREATE TABLE oauth.sessions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text NOT NULL,
    provider    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    end_reason  text
);
CREATE INDEX sessions_user ON oauth.sessions (user_id);
CREATE INDEX sessions_expires ON oauth.sessions (expires_at);

-- Keys that authorise the HTTP admin API (the front's /auth/v1/admin routes): only the
-- SHA-256 of each high-entropy key is stored. Several may be live at once, so a key rotates
-- without downtime: create the next, deploy it, revoke the old one.
CREATE TABLE oauth.admin_keys (
    name         text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    key_hash     bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- Upstream sign-in, identities and sessions: the functions of src/api/sign_in*.rs,
-- accounts.rs and logout.rs, as cargo pgrx schema writes them.
-- oauth_server::api::sign_in_providers::add_sign_in_provider
CREATE  FUNCTION "add_sign_in_provider"(
	"name" TEXT, /* Option < & str > */
	"options" jsonb /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'add_sign_in_provider_wrapper';

-- oauth_server::api::sign_in::begin_sign_in
CREATE  FUNCTION "begin_sign_in"(
	"provider" TEXT, /* Option < & str > */
	"authorization_id" TEXT, /* Option < & str > */
	"browser_binding" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'begin_sign_in_wrapper';

-- oauth_server::api::logout::end_session
CREATE  FUNCTION "end_session"(
	"params" jsonb /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'end_session_wrapper';

-- oauth_server::api::sign_in::finish_sign_in
CREATE  FUNCTION "finish_sign_in"(
	"provider" TEXT, /* Option < & str > */
	"state" TEXT, /* Option < & str > */
	"browser_binding" TEXT, /* Option < & str > */
	"responses" jsonb /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'finish_sign_in_wrapper';

-- oauth_server::api::accounts::identities
CREATE  FUNCTION "identities"() RETURNS jsonb /* JsonB */
STRICT VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'identities_wrapper';

-- oauth_server::api::accounts::identities
CREATE  FUNCTION "identities"(
	"session_token" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'identities_with_session_wrapper';

-- oauth_server::api::sign_in_providers::remove_sign_in_provider
CREATE  FUNCTION "remove_sign_in_provider"(
	"name" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'remove_sign_in_provider_wrapper';

-- oauth_server::api::sign_in_providers::report_sign_in_provider_error
CREATE  FUNCTION "report_sign_in_provider_error"(
	"name" TEXT, /* Option < & str > */
	"error" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'report_sign_in_provider_error_wrapper';

-- oauth_server::api::accounts::revoke_sessions
CREATE  FUNCTION "revoke_sessions"(
	"sub" TEXT /* Option < & str > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'revoke_sessions_wrapper';

-- oauth_server::api::accounts::sessions
CREATE  FUNCTION "sessions"(
	"sub" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sessions_wrapper';

-- oauth_server::api::sign_in_providers::set_sign_in_provider_metadata
CREATE  FUNCTION "set_sign_in_provider_metadata"(
	"name" TEXT, /* Option < & str > */
	"discovery" jsonb, /* Option < JsonB > */
	"jwks" jsonb /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_sign_in_provider_metadata_wrapper';

-- oauth_server::api::sign_in::sign_in_buttons
CREATE  FUNCTION "sign_in_buttons"() RETURNS jsonb /* JsonB */
STRICT STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_in_buttons_wrapper';

-- oauth_server::api::sign_in_providers::sign_in_provider_fetches
CREATE  FUNCTION "sign_in_provider_fetches"() RETURNS jsonb /* JsonB */
STRICT STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_in_provider_fetches_wrapper';

-- oauth_server::api::sign_in_providers::sign_in_providers
CREATE  FUNCTION "sign_in_providers"() RETURNS jsonb /* JsonB */
STRICT STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_in_providers_wrapper';

-- oauth_server::api::sign_in::sign_in_token_request
CREATE  FUNCTION "sign_in_token_request"(
	"provider" TEXT, /* Option < & str > */
	"state" TEXT, /* Option < & str > */
	"browser_binding" TEXT, /* Option < & str > */
	"code" TEXT, /* Option < & str > */
	"error" TEXT DEFAULT NULL, /* Option < & str > */
	"error_description" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_in_token_request_wrapper';

-- oauth_server::api::accounts::sign_out
CREATE  FUNCTION "sign_out"(
	"session_token" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_out_wrapper';

-- oauth_server::api::accounts::unlink_identity
CREATE  FUNCTION "unlink_identity"(
	"provider" TEXT, /* Option < & str > */
	"subject" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'unlink_identity_wrapper';

-- oauth_server::api::accounts::unlink_identity
CREATE  FUNCTION "unlink_identity"(
	"provider" TEXT, /* Option < & str > */
	"subject" TEXT, /* Option < & str > */
	"session_token" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'unlink_identity_with_session_wrapper';

-- oauth_server::api::sign_in_providers::update_sign_in_provider
CREATE  FUNCTION "update_sign_in_provider"(
	"name" TEXT, /* Option < & str > */
	"options" jsonb /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'update_sign_in_provider_wrapper';

-- Client administration: one page of the clients, one client (never a secret).
-- oauth_server::api::clients::client
CREATE  FUNCTION "client"(
	"client_id" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'client_wrapper';

-- oauth_server::api::clients::clients
CREATE  FUNCTION "clients"(
	"page" INT DEFAULT 1, /* Option < i32 > */
	"per_page" INT DEFAULT 50 /* Option < i32 > */
) RETURNS jsonb /* JsonB */
STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'clients_wrapper';

-- The HTTP admin API: administrator keys, and client administration authorised by one.
-- oauth_server::api::clients::admin_clients
CREATE  FUNCTION "admin_clients"(
	"credential" TEXT, /* Option < & str > */
	"action" TEXT, /* Option < & str > */
	"client_id" TEXT DEFAULT NULL, /* Option < & str > */
	"params" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'admin_clients_wrapper';

-- oauth_server::api::admin_keys::create_admin_key
CREATE  FUNCTION "create_admin_key"(
	"name" TEXT /* Option < & str > */
) RETURNS TEXT /* String */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'create_admin_key_wrapper';

-- oauth_server::api::admin_keys::revoke_admin_key
CREATE  FUNCTION "revoke_admin_key"(
	"name" TEXT /* Option < & str > */
) RETURNS bool /* bool */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'revoke_admin_key_wrapper';

-- oauth_server::api::admin_keys::admin_keys
CREATE  FUNCTION "admin_keys"() RETURNS jsonb /* JsonB */
STRICT STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'admin_keys_wrapper';

-- As finalize.sql does on a fresh install: the installing role's default privileges
-- (ALTER DEFAULT PRIVILEGES … GRANT … TO reporting) must give nobody the new tables or
-- functions. Only the objects this script creates: the DBA's grants on the others stay.
DO $$
DECLARE
    revoke text;
BEGIN
    FOR revoke IN
        SELECT format('REVOKE ALL ON TABLE %s FROM %s', c.oid::regclass, a.grantee::regrole)
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, c.relowner)
          AND c.relname IN ('client_post_logout_uris', 'sign_in_providers', 'users',
                            'identities', 'sign_in_states', 'sessions', 'admin_keys')
        UNION
        SELECT format('REVOKE ALL ON FUNCTION %s FROM %s', p.oid::regprocedure, a.grantee::regrole)
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.pronamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, p.proowner)
          AND p.proname IN ('add_sign_in_provider', 'update_sign_in_provider',
                            'remove_sign_in_provider', 'sign_in_providers',
                            'sign_in_provider_fetches', 'set_sign_in_provider_metadata',
                            'report_sign_in_provider_error', 'sign_in_buttons', 'begin_sign_in',
                            'sign_in_token_request', 'finish_sign_in', 'identities',
                            'unlink_identity', 'sign_out', 'sessions', 'revoke_sessions',
                            'end_session', 'clients', 'client', 'admin_clients',
                            'create_admin_key', 'revoke_admin_key', 'admin_keys')
    LOOP
        EXECUTE revoke;
    END LOOP;
END
$$;
REVOKE ALL ON oauth.client_post_logout_uris, oauth.sign_in_providers, oauth.users, oauth.identities, oauth.sign_in_states,
    oauth.sessions, oauth.admin_keys FROM PUBLIC;
REVOKE ALL ON FUNCTION
    oauth.add_sign_in_provider(text, jsonb), oauth.update_sign_in_provider(text, jsonb),
    oauth.remove_sign_in_provider(text), oauth.sign_in_providers(),
    oauth.sign_in_provider_fetches(), oauth.set_sign_in_provider_metadata(text, jsonb, jsonb),
    oauth.report_sign_in_provider_error(text, text), oauth.sign_in_buttons(),
    oauth.begin_sign_in(text, text, text), oauth.sign_in_token_request(text, text, text, text, text, text),
    oauth.finish_sign_in(text, text, text, jsonb), oauth.identities(), oauth.identities(text),
    oauth.unlink_identity(text, text), oauth.unlink_identity(text, text, text),
    oauth.sign_out(text), oauth.sessions(text), oauth.revoke_sessions(text),
    oauth.end_session(jsonb), oauth.clients(integer, integer), oauth.client(text),
    oauth.admin_clients(text, text, text, jsonb), oauth.create_admin_key(text),
    oauth.revoke_admin_key(text), oauth.admin_keys()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    oauth.sign_in_buttons(), oauth.begin_sign_in(text, text, text), oauth.identities(text),
    oauth.unlink_identity(text, text, text), oauth.sign_out(text), oauth.end_session(jsonb),
    oauth.admin_clients(text, text, text, jsonb)
TO PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
        GRANT EXECUTE ON FUNCTION oauth.identities(), oauth.unlink_identity(text, text)
        TO authenticated;
    END IF;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('oauth.client_post_logout_uris', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.sign_in_providers', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.users', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.identities', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.sign_in_states', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.admin_keys', '');

-- Issue 28, items 8 and 9 (prompt / hints / freshness; upstream sign-in).
-- The `sub` of an authorization request's id_token_hint: no other user's session answers it.
ALTER TABLE oauth.authorizations ADD COLUMN hint_sub text;
-- The identity a session was signed in through (with `provider`): unlinking it ends the
-- session. Sessions from before 0.2.0 name none.
ALTER TABLE oauth.sessions ADD COLUMN identity_issuer text, ADD COLUMN identity_subject text;
CREATE INDEX sessions_identity ON oauth.sessions (provider, identity_subject)
    WHERE identity_subject IS NOT NULL;
-- The callback's RFC 9207 `iss` is checked before the code is redeemed upstream.
DROP FUNCTION oauth.sign_in_token_request(text, text, text, text, text, text);
-- oauth_server::api::sign_in::sign_in_token_request
CREATE  FUNCTION "sign_in_token_request"(
	"provider" TEXT, /* Option < & str > */
	"state" TEXT, /* Option < & str > */
	"browser_binding" TEXT, /* Option < & str > */
	"code" TEXT, /* Option < & str > */
	"error" TEXT DEFAULT NULL, /* Option < & str > */
	"error_description" TEXT DEFAULT NULL, /* Option < & str > */
	"iss" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sign_in_token_request_wrapper';
REVOKE ALL ON FUNCTION oauth.sign_in_token_request(text, text, text, text, text, text, text) FROM PUBLIC;
-- Nor what the installing role's default privileges granted on it (as for every function).
DO $$
DECLARE
    revoke text;
BEGIN
    FOR revoke IN
        SELECT format('REVOKE ALL ON FUNCTION %s FROM %s', p.oid::regprocedure, a.grantee::regrole)
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.oid = 'oauth.sign_in_token_request(text, text, text, text, text, text, text)'::regprocedure
          AND a.grantee NOT IN (0, p.proowner)
    LOOP
        EXECUTE revoke;
    END LOOP;
END
$$;

-- Issue 28, items 1-5 (decisions re-checked against today's grounds; users disabled,
-- enabled and deleted; scopes removed).
-- What a deleted user leaves behind goes with them: consents, token families (their access
-- tokens stop verifying), requests, sessions, wrong-code counts. Not foreign keys: `user_id`
-- in those tables is also the `sub` of users this extension does not hold (an app's own
-- login, a trusted issuer's), so oauth.delete_user runs this for those too.
CREATE FUNCTION oauth.forget_user(sub text) RETURNS void
LANGUAGE sql SET search_path = oauth, pg_temp AS $$
    DELETE FROM oauth.consents WHERE user_id = sub;
    -- Requests before families: a redemption in flight holds its request's row, so this
    -- waits for it, and the family it started is seen by the next statement.
    DELETE FROM oauth.authorizations WHERE user_id = sub;
    DELETE FROM oauth.grants WHERE user_id = sub AND grant_type <> 'client_credentials';
    DELETE FROM oauth.sessions WHERE user_id = sub;
    DELETE FROM oauth.user_code_failures WHERE user_id = sub;
$$;

-- Disabling ends the user's sessions at once (their families are refused while disabled, at
-- every check, and work again once enabled); deleting forgets the user. Audited either way.
CREATE FUNCTION oauth.users_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM oauth.forget_user(OLD.id);
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_deleted', OLD.id);
        RETURN OLD;
    END IF;
    IF NEW.disabled_at IS NOT NULL AND OLD.disabled_at IS NULL THEN
        UPDATE oauth.sessions SET ended_at = now(), end_reason = 'user disabled'
        WHERE user_id = NEW.id AND ended_at IS NULL;
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_disabled', NEW.id);
    ELSIF NEW.disabled_at IS NULL AND OLD.disabled_at IS NOT NULL THEN
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_enabled', NEW.id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_changed AFTER UPDATE OF disabled_at OR DELETE ON oauth.users
    FOR EACH ROW EXECUTE FUNCTION oauth.users_changed();

-- A scope removed from the registry (oauth.remove_scope, or a direct DELETE) is taken out of
-- every client's explicit list too, so that no client is allowed it any more and every family
-- granted it is narrowed at its next use. The built-in OpenID Connect scopes are not rows: a
-- row of that name only overrides their text, and deleting it restores the text
-- (oauth_core::protocol::scope::BUILT_IN; grounds_rules.rs tests the list).
CREATE FUNCTION oauth.scope_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;
    END IF;
    IF OLD.name NOT IN ('openid', 'profile', 'email', 'phone', 'offline_access') THEN
        UPDATE oauth.clients SET scopes = array_remove(scopes, OLD.name), updated_at = now()
        WHERE OLD.name = ANY (scopes);
        -- Nor does any consent cover it: a scope added again later under that name (perhaps
        -- meaning something else) is asked for again.
        UPDATE oauth.consents c
        SET scopes_by_audience = (SELECT jsonb_object_agg(a.key, a.value - OLD.name)
                                  FROM jsonb_each(c.scopes_by_audience) a),
            updated_at = now()
        WHERE EXISTS (SELECT FROM jsonb_each(c.scopes_by_audience) a WHERE a.value ? OLD.name);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER scope_removed AFTER UPDATE OF name OR DELETE ON oauth.scopes
    FOR EACH ROW EXECUTE FUNCTION oauth.scope_removed();

-- A resource server removed (oauth.remove_resource, or a direct DELETE) leaves no consent
-- behind: another server registered later at that URL is asked for, never approved silently.
-- (Families and codes naming it are narrowed or refused at their next use.)
CREATE FUNCTION oauth.resource_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    UPDATE oauth.consents SET scopes_by_audience = scopes_by_audience - OLD.resource,
                              updated_at = now()
    WHERE scopes_by_audience ? OLD.resource;
    RETURN NULL;
END
$$;
CREATE TRIGGER resource_removed AFTER DELETE ON oauth.resources
    FOR EACH ROW EXECUTE FUNCTION oauth.resource_removed();
REVOKE ALL ON FUNCTION oauth.forget_user(text), oauth.users_changed(), oauth.scope_removed(),
    oauth.resource_removed() FROM PUBLIC;

-- Issue 28, items 6 and 7 and oauth.revoke_user (sessions from claims judged as tokens are;
-- issuers compared exactly; a trusted issuer's user revoked).
CREATE TABLE oauth.revoked_users (
    issuer      text NOT NULL CHECK (issuer ~ '^https?://'),
    sub         text NOT NULL CHECK (length(sub) BETWEEN 1 AND 255),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, sub)
);
REVOKE ALL ON oauth.revoked_users FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('oauth.revoked_users', '');
-- oauth_server::api::issuers::revoke_user
CREATE  FUNCTION "revoke_user"(
	"sub" TEXT, /* Option < & str > */
	"issuer" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'revoke_user_wrapper';
REVOKE ALL ON FUNCTION oauth.revoke_user(text, text) FROM PUBLIC;
-- oauth.remove_scope, oauth.disable_user, oauth.enable_user, oauth.delete_user (administrators).
-- oauth_server::api::clients::remove_scope
CREATE  FUNCTION "remove_scope"(
	"name" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'remove_scope_wrapper';
-- oauth_server::api::users::disable_user
CREATE  FUNCTION "disable_user"(
	"sub" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'disable_user_wrapper';
-- oauth_server::api::users::enable_user
CREATE  FUNCTION "enable_user"(
	"sub" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'enable_user_wrapper';
-- oauth_server::api::users::delete_user
CREATE  FUNCTION "delete_user"(
	"sub" TEXT /* Option < & str > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'delete_user_wrapper';
REVOKE ALL ON FUNCTION oauth.remove_scope(text), oauth.disable_user(text), oauth.enable_user(text), oauth.delete_user(text) FROM PUBLIC;

-- Issue 28, item 5 on the Supabase admin surface: oauth.admin_users (ban / delete a user for
-- the front's /auth/v1/admin/users/{id}); authorised by its credential argument, as
-- oauth.admin_clients is.
-- oauth_server::api::admin_users::admin_users
CREATE  FUNCTION "admin_users"(
	"credential" TEXT, /* Option < & str > */
	"action" TEXT, /* Option < & str > */
	"user_id" TEXT, /* Option < & str > */
	"params" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'admin_users_wrapper';
REVOKE ALL ON FUNCTION oauth.admin_users(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth.admin_users(text, text, text, jsonb) TO PUBLIC;

-- Issue 28, writes to oauth.users the triggers could not follow (TRUNCATE, a changed id, a
-- future disabled_at) refused; any write of disabled_at ends the sessions. As sql/schema.sql.
-- Disabling ends the user's sessions at once (their families are refused while disabled, at
-- every check, and work again once enabled); deleting forgets the user. Audited either way.
-- Any write of a non-null disabled_at ends the sessions, not only the first: a session an
-- administrator minted while the user was disabled (oauth.issue_session_token) must not wake
-- up at enable_user because disabled_at was rewritten rather than set.
CREATE OR REPLACE FUNCTION oauth.users_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM oauth.forget_user(OLD.id);
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_deleted', OLD.id);
        RETURN OLD;
    END IF;
    IF NEW.disabled_at IS NOT NULL THEN
        UPDATE oauth.sessions SET ended_at = now(), end_reason = 'user disabled'
        WHERE user_id = NEW.id AND ended_at IS NULL;
    END IF;
    IF NEW.disabled_at IS NOT NULL AND OLD.disabled_at IS NULL THEN
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_disabled', NEW.id);
    ELSIF NEW.disabled_at IS NULL AND OLD.disabled_at IS NOT NULL THEN
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_enabled', NEW.id);
    END IF;
    RETURN NEW;
END
$$;

-- Writes the triggers above could not follow are refused rather than half done:
-- - `id` never changes. It is the `sub` of every token, consent, family, request and session,
--   which name it without a foreign key (see oauth.forget_user): a new id would leave all of
--   them live under a sub no row holds, for the next user given that id to inherit, and OpenID
--   Connect never reassigns a sub (Core §2). Deleting the user and creating another is the way.
-- - disabled_at is never in the future. A user is disabled from the moment it is set until it
--   is cleared (accounts/is_disabled reads `IS NOT NULL`); a future value reads as a scheduled
--   disable to some and as GoTrue's banned_until to others, and neither exists here
--   (oauth.admin_users refuses timed bans too). clock_timestamp(), not now(): a value taken
--   from the clock earlier in the same transaction is not in the future.
CREATE FUNCTION oauth.users_checked() RETURNS trigger
LANGUAGE plpgsql SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'the id of a user (their sub) never changes'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Tokens, consents and sessions name user %L; OpenID Connect never reassigns a sub.', OLD.id),
                  HINT = 'Delete the user (oauth.delete_user or DELETE FROM oauth.users) and create another.';
    END IF;
    IF NEW.disabled_at > clock_timestamp() THEN
        RAISE EXCEPTION 'disabled_at of user % is in the future', quote_literal(NEW.id)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A user is disabled from the moment disabled_at is set until it is cleared; there are no scheduled or timed bans.',
                  HINT = 'Use oauth.disable_user(sub), or SET disabled_at = now().';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_checked BEFORE INSERT OR UPDATE ON oauth.users
    FOR EACH ROW EXECUTE FUNCTION oauth.users_checked();

REVOKE ALL ON FUNCTION oauth.users_checked() FROM PUBLIC;

-- Issue 28: an identity removed ends its sessions; TRUNCATE of the registries and of
-- identities is refused while they have rows (the row triggers would not run).
-- An identity gone by any path — unlinked, deleted directly, its provider removed, its user
-- deleted — or re-pointed to another provider, issuer, subject or user ends the sessions signed
-- in through it: whoever removed it said that account no longer signs this user in
-- (accounts/unlink.sql ends them itself, to count them, and this then finds none left).
CREATE FUNCTION oauth.identity_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.provider, NEW.issuer, NEW.subject, NEW.user_id)
                            IS NOT DISTINCT FROM (OLD.provider, OLD.issuer, OLD.subject, OLD.user_id) THEN
        RETURN NULL;
    END IF;
    UPDATE oauth.sessions SET ended_at = now(), end_reason = 'identity removed'
    WHERE user_id = OLD.user_id AND provider = OLD.provider AND identity_issuer = OLD.issuer
      AND identity_subject = OLD.subject AND ended_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER identity_removed AFTER UPDATE OR DELETE ON oauth.identities
    FOR EACH ROW EXECUTE FUNCTION oauth.identity_removed();

-- TRUNCATE fires no row trigger, so on these tables it would skip what their triggers do:
-- every user's families, consents, sessions and requests would stay working (oauth.users);
-- consents and clients would keep a scope or resource the registry no longer has (and approve
-- it silently if one of that name came back); sessions would outlive their identity. Refused
-- while the table has rows; DELETE does it all. Not turned into a DELETE: that is a slow
-- statement holding an exclusive lock (and, for users, writing an audit row each), which
-- whoever typed TRUNCATE should choose knowingly. An empty table leaves nothing behind, so it
-- may be truncated (restores, test resets); hence 55000, the table not being empty (a TRUNCATE
-- of oauth.users without CASCADE meets identities' foreign key first: 0A000). The lock
-- TRUNCATE holds before this runs keeps rows from arriving in between. Definer: TRUNCATE may
-- be granted without SELECT.
CREATE FUNCTION oauth.truncate_refused() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
DECLARE
    has_rows boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'TRUNCATE %.% would skip the triggers that withdraw what its rows granted',
                        TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('DELETE FROM %I.%I does the same and withdraws it.', TG_TABLE_SCHEMA, TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_truncated BEFORE TRUNCATE ON oauth.users
    FOR EACH STATEMENT EXECUTE FUNCTION oauth.truncate_refused();
CREATE TRIGGER scopes_truncated BEFORE TRUNCATE ON oauth.scopes
    FOR EACH STATEMENT EXECUTE FUNCTION oauth.truncate_refused();
CREATE TRIGGER resources_truncated BEFORE TRUNCATE ON oauth.resources
    FOR EACH STATEMENT EXECUTE FUNCTION oauth.truncate_refused();
CREATE TRIGGER identities_truncated BEFORE TRUNCATE ON oauth.identities
    FOR EACH STATEMENT EXECUTE FUNCTION oauth.truncate_refused();
REVOKE ALL ON FUNCTION oauth.identity_removed(), oauth.truncate_refused() FROM PUBLIC;

-- Issue 28 review: a deleted user's sessions of other logins are refused (oauth.deleted_users),
-- and a user inserted already disabled is disabled as any other (users_changed on INSERT).
CREATE TABLE oauth.deleted_users (
    sub         text PRIMARY KEY CHECK (sub <> ''),
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON oauth.deleted_users FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('oauth.deleted_users', '');
CREATE OR REPLACE FUNCTION oauth.forget_user(sub text) RETURNS void
LANGUAGE sql SET search_path = oauth, pg_temp AS $$
    -- Requests before families: a redemption in flight holds its request's row, so this
    -- waits for it, and the family it started is seen by the next statement. Consents after
    -- both: the consent step locks its request and then the consent, and taking them in the
    -- same order (as oauth.withdraw_grounds does) leaves no deadlock between the two.
    DELETE FROM oauth.authorizations WHERE user_id = sub;
    DELETE FROM oauth.grants WHERE user_id = sub AND grant_type <> 'client_credentials';
    DELETE FROM oauth.consents WHERE user_id = sub;
    DELETE FROM oauth.sessions WHERE user_id = sub;
    DELETE FROM oauth.user_code_failures WHERE user_id = sub;
    INSERT INTO oauth.deleted_users (sub) VALUES (sub)
    ON CONFLICT ON CONSTRAINT deleted_users_pkey DO UPDATE SET deleted_at = now();
$$;
CREATE OR REPLACE FUNCTION oauth.users_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM oauth.forget_user(OLD.id);
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_deleted', OLD.id);
        RETURN OLD;
    END IF;
    IF NEW.disabled_at IS NOT NULL THEN
        UPDATE oauth.sessions SET ended_at = now(), end_reason = 'user disabled'
        WHERE user_id = NEW.id AND ended_at IS NULL;
    END IF;
    IF NEW.disabled_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.disabled_at IS NULL) THEN
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_disabled', NEW.id);
    ELSIF TG_OP = 'UPDATE' AND NEW.disabled_at IS NULL AND OLD.disabled_at IS NOT NULL THEN
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_enabled', NEW.id);
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER users_changed ON oauth.users;
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OF disabled_at OR DELETE ON oauth.users
    FOR EACH ROW EXECUTE FUNCTION oauth.users_changed();

-- Issue 28 review, removals for good: a scope or resource server removed (or renamed), a
-- client's scopes narrowed or a redirect URI removed is taken out of the requests, families and
-- consents that recorded it, so that adding it back revives nothing (docs/security.md).
-- Two of oauth-core's rules in SQL, for the triggers below; kept exactly alike (grounds_removals.rs
-- compares each with the Rust over the same inputs). oauth_core::protocol::scope::allowed_for_client:
-- the scopes a client may be granted are its explicit list plus offline_access or, when it has
-- none (NULL), every built-in scope (scope::BUILT_IN) and every row of oauth.scopes.
CREATE FUNCTION oauth.scopes_allowed_for(client_scopes text[]) RETURNS text[]
LANGUAGE sql STABLE SET search_path = oauth, pg_temp AS $$
    SELECT CASE WHEN client_scopes IS NULL
                THEN ARRAY['openid', 'profile', 'email', 'phone', 'offline_access']
                     || ARRAY(SELECT name FROM oauth.scopes)
                ELSE client_scopes || 'offline_access'::text END
$$;

-- oauth_core::protocol::redirect_uri::find_match: exact, except that a loopback redirect matches
-- a registered one with any port (RFC 8252 §7.3). loopback_parts is its split_loopback: the host
-- and what follows the port of http://127.0.0.1, http://[::1] or http://localhost with at most a
-- 5-digit port up to 65535 and then nothing, `/` or `?`; NULL for any other URI.
CREATE FUNCTION oauth.loopback_parts(uri text) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = oauth, pg_temp AS $$
    SELECT ARRAY[m[1], coalesce(m[3], '')]
    FROM regexp_match(uri, '^http://(127\.0\.0\.1|\[::1\]|localhost)(?::([0-9]{1,5}))?([/?].*)?$') m
    WHERE m IS NOT NULL AND (m[2] IS NULL OR m[2]::integer <= 65535)
$$;
CREATE FUNCTION oauth.redirect_uri_matches(registered text[], requested text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = oauth, pg_temp AS $$
    SELECT requested <> '' AND octet_length(requested) <= 2000 AND position('#' in requested) = 0
           AND (requested = ANY (registered)
                OR EXISTS (SELECT FROM unnest(registered) r
                           WHERE oauth.loopback_parts(r) = oauth.loopback_parts(requested)))
$$;

-- `list` without `gone` and, when `allowed` is not NULL, without what it does not hold; in order.
-- No SET search_path: that would stop the planner inlining it, and withdraw_grounds calls it per
-- row (a whole-table rewrite when a scope is removed); inlined, it is parsed under the caller's
-- pinned search_path. It is executable by the owner only.
CREATE FUNCTION oauth.kept(list text[], gone text[], allowed text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY(SELECT x FROM unnest(list) WITH ORDINALITY u(x, i)
                 WHERE x <> ALL (gone) AND (allowed IS NULL OR x = ANY (allowed)) ORDER BY i)
$$;

-- Takes scopes out of what the decisions of `of_client` (NULL: of every client) still to be used
-- recorded — requests not yet redeemed (pending, approved codes, device authorizations), live
-- token families, consents: the scopes in `gone_scopes` and, when `allowed_scopes` is not NULL,
-- those it does not hold; and the resource servers in `gone_resources`. Out for good: a scope or
-- server registered again under that name (perhaps meaning something else), or a client allowed
-- the scope again, is asked for again, never revived by what was recorded before.
-- A request or family this leaves with nothing is ended (requests deleted, families revoked with
-- `reason`), never kept: with no resource left it would fall back to the default audience, a
-- token for a server the user never named; with no scope left but offline_access (which grants
-- nothing itself) it would mint tokens carrying only the user's sub and role, which policies keyed
-- on the user alone honour — and an empty recorded list is issued as empty, not refused
-- (decisions::grounds::recheck refuses only a list it empties itself).
-- Lock order: requests, then families, then consents. A redemption in flight holds its request's
-- row, so this waits for it and then sees the family it started (as oauth.forget_user; race tests
-- in grounds_removals.rs); the consent step locks its request before its consent.
CREATE FUNCTION oauth.withdraw_grounds(of_client text, gone_scopes text[], allowed_scopes text[],
                                       gone_resources text[], reason text) RETURNS void
LANGUAGE sql SET search_path = oauth, pg_temp AS $$
    DELETE FROM oauth.authorizations a
    WHERE (of_client IS NULL OR a.client_id = of_client) AND a.status IN ('pending', 'approved')
      AND ((a.scopes && gone_scopes OR NOT a.scopes <@ coalesce(allowed_scopes, a.scopes))
           AND oauth.kept(a.scopes, gone_scopes, allowed_scopes) <@ ARRAY['offline_access']
           OR a.resources && gone_resources AND a.resources <@ gone_resources);
    UPDATE oauth.authorizations a
    SET scopes = oauth.kept(a.scopes, gone_scopes, allowed_scopes),
        resources = oauth.kept(a.resources, gone_resources, NULL)
    WHERE (of_client IS NULL OR a.client_id = of_client) AND a.status IN ('pending', 'approved')
      AND (a.scopes && gone_scopes OR NOT a.scopes <@ coalesce(allowed_scopes, a.scopes)
           OR a.resources && gone_resources);
    UPDATE oauth.grants g SET revoked_at = now(), revoked_reason = reason
    WHERE (of_client IS NULL OR g.client_id = of_client) AND g.revoked_at IS NULL
      AND ((g.scopes && gone_scopes OR NOT g.scopes <@ coalesce(allowed_scopes, g.scopes))
           AND oauth.kept(g.scopes, gone_scopes, allowed_scopes) <@ ARRAY['offline_access']
           OR g.resources && gone_resources AND g.resources <@ gone_resources);
    UPDATE oauth.grants g
    SET scopes = oauth.kept(g.scopes, gone_scopes, allowed_scopes),
        resources = oauth.kept(g.resources, gone_resources, NULL)
    WHERE (of_client IS NULL OR g.client_id = of_client) AND g.revoked_at IS NULL
      AND (g.scopes && gone_scopes OR NOT g.scopes <@ coalesce(allowed_scopes, g.scopes)
           OR g.resources && gone_resources);
    UPDATE oauth.consents c
    SET scopes_by_audience = coalesce(
            (SELECT jsonb_object_agg(a.key, to_jsonb(oauth.kept(ARRAY(SELECT jsonb_array_elements_text(a.value)),
                                                                gone_scopes, allowed_scopes)))
             FROM jsonb_each(c.scopes_by_audience) a WHERE a.key <> ALL (gone_resources)), '{}'),
        updated_at = now()
    -- Which consents name what goes: operators in C first (a key in gone_resources, a scope
    -- in gone_scopes anywhere), so a removal nobody recorded costs a scan, not a jsonb_each
    -- per consent; the element-by-element test only for a client's narrowed scopes.
    WHERE (of_client IS NULL OR c.client_id = of_client)
      AND (c.scopes_by_audience ?| gone_resources
           OR jsonb_path_exists(c.scopes_by_audience, '$.*[*] ? (@ == $gone[*])',
                                jsonb_build_object('gone', to_jsonb(gone_scopes)))
           OR allowed_scopes IS NOT NULL
              AND EXISTS (SELECT FROM jsonb_each(c.scopes_by_audience) a,
                                      jsonb_array_elements_text(a.value) s
                          WHERE s <> ALL (allowed_scopes)));
$$;

-- A scope removed from the registry (oauth.remove_scope, a direct DELETE, or renamed with an
-- UPDATE) is taken out of every client's explicit list, so that no client is allowed it any more,
-- and out of every request, family and consent that recorded it (oauth.withdraw_grounds): for
-- good, so a scope added again later under that name is asked for again. The built-in OpenID
-- Connect scopes are not rows: a row of that name only overrides their text, and deleting it
-- restores the text (oauth_core::protocol::scope::BUILT_IN; grounds_rules.rs tests the list).
-- Clients first: the lock order of oauth.update_client (client_changed below), which this fires
-- for the clients that listed the scope.
CREATE OR REPLACE FUNCTION oauth.scope_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;
    END IF;
    IF OLD.name NOT IN ('openid', 'profile', 'email', 'phone', 'offline_access') THEN
        UPDATE oauth.clients SET scopes = array_remove(scopes, OLD.name), updated_at = now()
        WHERE OLD.name = ANY (scopes);
        PERFORM oauth.withdraw_grounds(NULL, ARRAY[OLD.name], NULL, '{}', 'scope removed');
    END IF;
    RETURN NULL;
END
$$;

-- A resource server removed (oauth.remove_resource, a direct DELETE, or moved to another URL with
-- an UPDATE) is taken out of every request, family and consent that named it
-- (oauth.withdraw_grounds): another server registered later at that URL is asked for, never
-- approved silently, and no token is minted for it from an earlier decision.
CREATE OR REPLACE FUNCTION oauth.resource_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.resource = OLD.resource THEN
        RETURN NULL;
    END IF;
    PERFORM oauth.withdraw_grounds(NULL, '{}', NULL, ARRAY[OLD.resource], 'resource removed');
    RETURN NULL;
END
$$;
DROP TRIGGER resource_removed ON oauth.resources;
CREATE TRIGGER resource_removed AFTER UPDATE OF resource OR DELETE ON oauth.resources
    FOR EACH ROW EXECUTE FUNCTION oauth.resource_removed();

-- A client changed by any path (oauth.update_client, the admin API, a metadata document fetched
-- again, a direct UPDATE) loses for good what it may no longer have, so that changing it back
-- revives nothing:
-- - its requests not yet redeemed (pending, or an approved code) to a redirect URI it no longer
--   registers, matched as authorize matches (redirect_uri_matches), are ended: a code is never
--   sent to, nor redeemed for, a URI the client no longer owns, even once it is registered again;
-- - its requests, families and consents lose the scopes it may no longer be granted
--   (scopes_allowed_for), as oauth.withdraw_grounds does for a removed scope. A family ended
--   so is revoked for 'client scopes narrowed', or for 'scope removed' when a scope the client
--   had is in the registry no more (this fires from scope_removed).
-- Requests to a removed URI first: requests, then families, then consents (withdraw_grounds).
CREATE FUNCTION oauth.client_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
DECLARE
    allowed text[];
BEGIN
    IF NEW.redirect_uris IS DISTINCT FROM OLD.redirect_uris THEN
        DELETE FROM oauth.authorizations a
        WHERE a.client_id = NEW.client_id AND a.kind = 'code' AND a.status IN ('pending', 'approved')
          AND NOT coalesce(oauth.redirect_uri_matches(NEW.redirect_uris, a.redirect_uri), false);
    END IF;
    IF NEW.scopes IS DISTINCT FROM OLD.scopes THEN
        allowed := oauth.scopes_allowed_for(NEW.scopes);
        PERFORM oauth.withdraw_grounds(NEW.client_id, '{}', allowed, '{}',
            CASE WHEN oauth.scopes_allowed_for(OLD.scopes)
                      <@ (allowed || oauth.scopes_allowed_for(NULL))
                 THEN 'client scopes narrowed' ELSE 'scope removed' END);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER client_changed AFTER UPDATE OF scopes, redirect_uris ON oauth.clients
    FOR EACH ROW EXECUTE FUNCTION oauth.client_changed();
REVOKE ALL ON FUNCTION oauth.scopes_allowed_for(text[]), oauth.loopback_parts(text),
    oauth.redirect_uri_matches(text[], text), oauth.kept(text[], text[], text[]),
    oauth.withdraw_grounds(text, text[], text[], text[], text), oauth.client_changed() FROM PUBLIC;

-- Issue 30: the client indexes of consents and families carry the user too, so no plan
-- scans a client's every consent or family for one user's (schema.sql, plan_rules.rs).
DROP INDEX oauth.consents_client_id;
CREATE INDEX consents_client_user ON oauth.consents (client_id, user_id);
DROP INDEX oauth.grants_client_id;
CREATE INDEX grants_client_user ON oauth.grants (client_id, user_id);

-- Issue 31: oauth.create_client takes post_logout_redirect_uris (last, so positional calls
-- keep working). A new parameter is a new signature: the function is dropped and created
-- again, on a C symbol of its own (the library keeps 0.1.0's for the old function until this
-- runs), and the EXECUTE the DBA granted on the old one is granted on the new one (kept
-- across the DROP in a transaction-local setting).
SELECT set_config('oauth_server_upgrade.create_client_acl', coalesce(proacl::text, ''), true)
FROM pg_proc
WHERE oid = 'oauth.create_client(text, text[], text, text[], text[], text, text, text)'::regprocedure;
DROP FUNCTION oauth.create_client(text, text[], text, text[], text[], text, text, text);
-- oauth_server::api::clients::create_client
CREATE  FUNCTION "create_client"(
	"name" TEXT, /* Option < & str > */
	"redirect_uris" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"client_type" TEXT DEFAULT 'confidential', /* Option < & str > */
	"scopes" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"grant_types" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"token_endpoint_auth_method" TEXT DEFAULT NULL, /* Option < & str > */
	"client_uri" TEXT DEFAULT NULL, /* Option < & str > */
	"logo_uri" TEXT DEFAULT NULL, /* Option < & str > */
	"post_logout_redirect_uris" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"jwks" jsonb DEFAULT NULL, /* Option < JsonB > */
	"jwks_uri" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'create_client_with_logout_uris_wrapper';
REVOKE ALL ON FUNCTION oauth.create_client(text, text[], text, text[], text[], text, text, text, text[], jsonb, text) FROM PUBLIC;
-- Not what the installing role's default privileges gave the new function (as for every
-- function), but what the old one had: the DBA's grants to the roles that administer clients.
DO $$
DECLARE
    fn CONSTANT regprocedure :=
        'oauth.create_client(text, text[], text, text[], text[], text, text, text, text[], jsonb, text)';
    stmt text;
BEGIN
    FOR stmt IN
        SELECT format('REVOKE ALL ON FUNCTION %s FROM %s', fn, a.grantee::regrole)
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.oid = fn AND a.grantee NOT IN (0, p.proowner)
    LOOP
        EXECUTE stmt;
    END LOOP;
    FOR stmt IN
        SELECT format('GRANT EXECUTE ON FUNCTION %s TO %s%s', fn, a.grantee::regrole,
                      CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
        FROM pg_proc p,
             aclexplode(nullif(current_setting('oauth_server_upgrade.create_client_acl'), '')::aclitem[]) a
        WHERE p.oid = fn AND a.grantee NOT IN (0, p.proowner) AND a.privilege_type = 'EXECUTE'
    LOOP
        EXECUTE stmt;
    END LOOP;
END
$$;

-- DPoP (RFC 9449). A client may require it of every token request; an authorization request
-- may bind its code to a key (dpop_jkt); a public client's token family is bound to the key of
-- its first proof. Apart from the new columns, no old statement changes: a 0.1.0 schema keeps
-- serving everything that does not use DPoP until this update runs.
ALTER TABLE oauth.clients ADD COLUMN dpop_bound_access_tokens boolean NOT NULL DEFAULT false;
ALTER TABLE oauth.authorizations ADD COLUMN dpop_jkt text CHECK (dpop_jkt ~ '^[A-Za-z0-9_-]{43}$');
ALTER TABLE oauth.grants ADD COLUMN dpop_jkt text CHECK (dpop_jkt ~ '^[A-Za-z0-9_-]{43}$');

-- DPoP proofs (RFC 9449 §11.1) and client assertions (RFC 7523 §3) already taken, by jti, until
-- they could no longer be taken anyway (a proof too old, an assertion expired): one presented
-- again is a replay. `issuer` is the proof key's thumbprint or the asserting client; `key` the
-- SHA-256 of kind, issuer and jti, which is what is unique (a client_id URL and a jti of
-- 4-byte characters together would not fit an index entry).
CREATE TABLE oauth.used_jtis (
    key         bytea PRIMARY KEY CHECK (octet_length(key) = 32),
    kind        text NOT NULL CHECK (kind IN ('dpop', 'client_assertion')),
    issuer      text NOT NULL,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX used_jtis_expires_at ON oauth.used_jtis (expires_at);

-- The server's DPoP nonces (RFC 9449 §8), when oauth_server.dpop_nonce is on: the newest is
-- handed out, and one is accepted for a while after a newer one replaces it.
CREATE TABLE oauth.dpop_nonces (
    nonce      text PRIMARY KEY,
    issued_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON TABLE oauth.used_jtis, oauth.dpop_nonces FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('oauth.used_jtis', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.dpop_nonces', '');

-- The token endpoint and userinfo with the request's DPoP header: functions of their own beside
-- the old ones, which keep their C symbols and the grants the DBA gave them.
-- oauth_server::api::token::token
CREATE  FUNCTION "token"(
	"form" jsonb, /* Option < JsonB > */
	"authorization" TEXT, /* Option < & str > */
	"dpop" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'token_with_dpop_wrapper';

-- oauth_server::api::userinfo::userinfo
CREATE  FUNCTION "userinfo"(
	"access_token" TEXT, /* Option < & str > */
	"dpop" TEXT, /* Option < & str > */
	"method" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'userinfo_with_dpop_wrapper';

-- oauth_server::api::dpop::verify_dpop
CREATE  FUNCTION "verify_dpop"(
	"access_token" TEXT, /* Option < & str > */
	"proof" TEXT, /* Option < & str > */
	"method" TEXT, /* Option < & str > */
	"url" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'verify_dpop_wrapper';

-- oauth_server::api::dpop::dpop_jkt
CREATE  FUNCTION "dpop_jkt"() RETURNS TEXT /* Option < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'dpop_jkt_wrapper';

-- Pushed authorization requests (RFC 9126): the parameters a client pushed, under the hash of
-- the request_uri it got, usable once, by that client, for a minute; and the clients that must
-- push every request.
ALTER TABLE oauth.clients ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false;
ALTER TABLE oauth.authorizations ADD COLUMN pushed boolean NOT NULL DEFAULT false;
CREATE TABLE oauth.pushed_requests (
    request_uri_hash  bytea PRIMARY KEY CHECK (octet_length(request_uri_hash) = 32),
    client_id         text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    params            jsonb NOT NULL CHECK (jsonb_typeof(params) = 'object'),
    expires_at        timestamptz NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON oauth.pushed_requests (expires_at);
CREATE INDEX pushed_requests_client_id ON oauth.pushed_requests (client_id);
REVOKE ALL ON TABLE oauth.pushed_requests FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('oauth.pushed_requests', '');

-- oauth_server::api::par::par
CREATE  FUNCTION "par"(
	"form" jsonb, /* Option < JsonB > */
	"authorization" TEXT DEFAULT NULL, /* Option < & str > */
	"dpop" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'par_wrapper';

-- oauth_server::api::par::push_authorization_request
CREATE  FUNCTION "push_authorization_request"(
	"params" jsonb, /* Option < JsonB > */
	"client_id" TEXT, /* Option < & str > */
	"client_secret" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'push_authorization_request_wrapper';

-- private_key_jwt (RFC 7523): a confidential client that signs assertions with its own keys has
-- no secret; its public keys are given inline or published at a jwks_uri the front fetches.
ALTER TABLE oauth.clients DROP CONSTRAINT clients_token_endpoint_auth_method_check,
    ADD CONSTRAINT clients_token_endpoint_auth_method_check
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none',
                                              'private_key_jwt'));
ALTER TABLE oauth.clients DROP CONSTRAINT clients_check,
    ADD CONSTRAINT clients_check CHECK ((client_secret_hash IS NOT NULL)
        = (client_type = 'confidential' AND token_endpoint_auth_method <> 'private_key_jwt'));
CREATE TABLE oauth.client_jwks (
    client_id      text PRIMARY KEY REFERENCES oauth.clients ON DELETE CASCADE,
    jwks           jsonb NOT NULL DEFAULT '{"keys": []}' CHECK (jsonb_typeof(jwks -> 'keys') = 'array'),
    jwks_uri       text,
    fetched_at     timestamptz,
    last_error     text,
    last_error_at  timestamptz
);
REVOKE ALL ON TABLE oauth.client_jwks FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('oauth.client_jwks', '');

-- What the front calls to keep published client keys fresh (owner, or whom the DBA grants).
-- oauth_server::api::client_keys::client_jwks_fetches
CREATE  FUNCTION "client_jwks_fetches"(
	"client_id" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'client_jwks_fetches_wrapper';

-- oauth_server::api::client_keys::set_client_jwks
CREATE  FUNCTION "set_client_jwks"(
	"client_id" TEXT, /* Option < & str > */
	"jwks" jsonb, /* Option < JsonB > */
	"jwks_uri" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_client_jwks_wrapper';

-- oauth_server::api::client_keys::report_client_jwks_error
CREATE  FUNCTION "report_client_jwks_error"(
	"client_id" TEXT, /* Option < & str > */
	"error" TEXT /* Option < & str > */
) RETURNS void
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'report_client_jwks_error_wrapper';
REVOKE ALL ON FUNCTION oauth.client_jwks_fetches(text), oauth.set_client_jwks(text, jsonb, text),
    oauth.report_client_jwks_error(text, text) FROM PUBLIC;

-- Token exchange (RFC 8693, issue 33): a family derived from another records its source, what
-- the exchange recorded, and when it ends at the latest; the exchange policy; revoking a family
-- revokes what was derived from it; removing a resource or scope takes it out of the policy.
ALTER TABLE oauth.grants ADD COLUMN source_grant_id uuid,
    ADD COLUMN exchange jsonb CHECK (jsonb_typeof(exchange) = 'object'),
    ADD COLUMN expires_at timestamptz,
    ADD CONSTRAINT grants_exchange_recorded CHECK (
        (grant_type = 'urn:ietf:params:oauth:grant-type:token-exchange')
        = (exchange IS NOT NULL AND expires_at IS NOT NULL));
CREATE INDEX grants_source ON oauth.grants (source_grant_id) WHERE source_grant_id IS NOT NULL;
-- Token exchange (RFC 8693), default deny: client_id may exchange a token whose audience is
-- from_audience (one of ours: a resource or the default audience; or a trusted issuer whose
-- option token_exchange is on) for one whose audience is to_audience, with at most `scopes`;
-- may_act lets it act for the token's user (recorded in act), refresh gives the result a
-- refresh token. Written by oauth.allow_token_exchange, audited.
CREATE TABLE oauth.token_exchange_policies (
    client_id      text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    from_audience  text NOT NULL CHECK (length(from_audience) BETWEEN 1 AND 2048),
    to_audience    text NOT NULL CHECK (length(to_audience) BETWEEN 1 AND 2048),
    scopes         text[] NOT NULL CHECK (cardinality(scopes) BETWEEN 1 AND 100),
    may_act        boolean NOT NULL DEFAULT false,
    refresh        boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, from_audience, to_audience)
);
SELECT pg_catalog.pg_extension_config_dump('oauth.token_exchange_policies', '');
REVOKE ALL ON TABLE oauth.token_exchange_policies FROM PUBLIC;

-- A family derived by token exchange stands only while its source does: revoking the source,
-- by any path (reuse detection, oauth.revoke_grant, a withdrawn consent, a disabled or revoked
-- user, a removed scope), revokes what was derived from it, and so on down the chain. A
-- derivation in flight holds its source's row (FOR SHARE, grants/start_exchanged.sql), so a
-- revocation waits for it and then finds its family here.
CREATE FUNCTION oauth.grant_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    UPDATE oauth.grants SET revoked_at = NEW.revoked_at, revoked_reason = 'source family revoked'
    WHERE source_grant_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER grant_revoked AFTER UPDATE OF revoked_at ON oauth.grants
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION oauth.grant_revoked();

-- And a family deleted (its client or user deleted, purged) takes what was derived from it, down
-- the chain (this fires again for each level). Not a foreign key: rows of one table referring to
-- each other would have to be restored in order, which a pg_dump of an extension's tables
-- cannot promise.
CREATE FUNCTION oauth.grant_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    -- A statement trigger fires for a DELETE of no rows too: the chain ends where nothing was
    -- derived from what went.
    IF EXISTS (SELECT FROM oauth.grants g, gone WHERE g.source_grant_id = gone.id) THEN
        DELETE FROM oauth.grants g USING gone WHERE g.source_grant_id = gone.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grant_deleted AFTER DELETE ON oauth.grants
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION oauth.grant_deleted();

-- A resource removed (or moved) takes every exchange rule naming it with it, and a scope
-- removed leaves every rule (a rule left with none goes): as for consents, a resource or scope
-- registered again later under that name is allowed again only by a rule written again. A
-- trusted issuer removed (or renamed) takes the rules from its sessions too, and ends what they
-- became; its option token_exchange turned off ends what they became (the rules wait for it to
-- be turned on again).
CREATE FUNCTION oauth.exchange_grounds_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'resources' THEN
        IF TG_OP = 'UPDATE' AND NEW.resource = OLD.resource THEN
            RETURN NULL;
        END IF;
        DELETE FROM oauth.token_exchange_policies
        WHERE from_audience = OLD.resource OR to_audience = OLD.resource;
    ELSIF TG_TABLE_NAME = 'issuers' THEN
        IF TG_OP = 'UPDATE' AND NEW.issuer = OLD.issuer
           AND ((NEW.options ->> 'token_exchange')::boolean IS TRUE
                OR (OLD.options ->> 'token_exchange')::boolean IS NOT TRUE) THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' OR NEW.issuer <> OLD.issuer THEN
            DELETE FROM oauth.token_exchange_policies WHERE from_audience = OLD.issuer;
        END IF;
        UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'issuer no longer exchanged'
        WHERE grant_type = 'urn:ietf:params:oauth:grant-type:token-exchange'
          AND source_grant_id IS NULL AND user_claims ->> 'iss' = OLD.issuer
          AND revoked_at IS NULL;
    ELSE
        IF TG_OP = 'UPDATE' AND NEW.name = OLD.name
           OR OLD.name IN ('openid', 'profile', 'email', 'phone', 'offline_access') THEN
            RETURN NULL;
        END IF;
        DELETE FROM oauth.token_exchange_policies WHERE scopes = ARRAY[OLD.name];
        UPDATE oauth.token_exchange_policies SET scopes = array_remove(scopes, OLD.name)
        WHERE OLD.name = ANY (scopes);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER exchange_resource_removed AFTER UPDATE OF resource OR DELETE ON oauth.resources
    FOR EACH ROW EXECUTE FUNCTION oauth.exchange_grounds_removed();
CREATE TRIGGER exchange_scope_removed AFTER UPDATE OF name OR DELETE ON oauth.scopes
    FOR EACH ROW EXECUTE FUNCTION oauth.exchange_grounds_removed();
CREATE TRIGGER exchange_issuer_removed AFTER UPDATE OF issuer, options OR DELETE ON oauth.issuers
    FOR EACH ROW EXECUTE FUNCTION oauth.exchange_grounds_removed();

-- A rule removed (oauth.disallow_token_exchange, a resource or client removed, a direct
-- DELETE) or narrowed (fewer scopes, may_act or refresh taken away) ends, at once, the live
-- families the client got by exchange from its from_audience for its to_audience, whether or
-- not another rule would still allow them: ending a family only ever reduces access. A trigger,
-- so that it runs with a snapshot of its own: an exchange that read the rule (FOR SHARE) and
-- committed while the removal waited is seen, and its family ended too.
CREATE FUNCTION oauth.exchange_policy_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.client_id = OLD.client_id
       AND NEW.from_audience = OLD.from_audience AND NEW.to_audience = OLD.to_audience
       AND NEW.scopes @> OLD.scopes AND (NEW.may_act OR NOT OLD.may_act)
       AND (NEW.refresh OR NOT OLD.refresh) THEN
        RETURN NULL;
    END IF;
    UPDATE oauth.grants g SET revoked_at = now(), revoked_reason = 'exchange policy removed'
    WHERE g.client_id = OLD.client_id AND g.revoked_at IS NULL
      AND g.grant_type = 'urn:ietf:params:oauth:grant-type:token-exchange'
      AND g.exchange -> 'subject_audience' ? OLD.from_audience
      AND g.exchange -> 'audience' ? OLD.to_audience;
    RETURN NULL;
END
$$;
CREATE TRIGGER exchange_policy_removed AFTER UPDATE OR DELETE ON oauth.token_exchange_policies
    FOR EACH ROW EXECUTE FUNCTION oauth.exchange_policy_removed();
REVOKE ALL ON FUNCTION oauth.grant_revoked(), oauth.grant_deleted(), oauth.exchange_grounds_removed(),
    oauth.exchange_policy_removed() FROM PUBLIC;

-- The exchange policy (administrators only) and the RLS helpers that read act (PUBLIC).
-- oauth_server::api::token_exchange::allow_token_exchange
CREATE  FUNCTION "allow_token_exchange"(
	"client_id" TEXT, /* Option < & str > */
	"from_audience" TEXT, /* Option < & str > */
	"to_audience" TEXT, /* Option < & str > */
	"scopes" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"may_act" bool DEFAULT false, /* bool */
	"refresh" bool DEFAULT false /* bool */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'allow_token_exchange_wrapper';

-- oauth_server::api::token_exchange::disallow_token_exchange
CREATE  FUNCTION "disallow_token_exchange"(
	"client_id" TEXT, /* Option < & str > */
	"from_audience" TEXT, /* Option < & str > */
	"to_audience" TEXT /* Option < & str > */
) RETURNS bigint /* i64 */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'disallow_token_exchange_wrapper';

-- oauth_server::api::token_exchange::token_exchange_policies
CREATE  FUNCTION "token_exchange_policies"(
	"client_id" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'token_exchange_policies_wrapper';

-- oauth_server::api::rls::actor
CREATE  FUNCTION "actor"() RETURNS TEXT /* Option < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'actor_wrapper';

-- oauth_server::api::rls::act_chain
CREATE  FUNCTION "act_chain"() RETURNS jsonb /* Option < JsonB > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'act_chain_wrapper';
REVOKE ALL ON FUNCTION oauth.allow_token_exchange(text, text, text, text[], boolean, boolean),
    oauth.disallow_token_exchange(text, text, text), oauth.token_exchange_policies(text),
    oauth.actor(), oauth.act_chain() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth.actor(), oauth.act_chain() TO PUBLIC;


-- Pairwise subjects and back-channel logout (issue 33): a client's relying-party metadata, the
-- sector identifier documents the front fetched, the secret pairwise identifiers are keyed with.
ALTER TABLE oauth.clients ADD COLUMN relying_party jsonb
    CHECK (jsonb_typeof(relying_party) = 'object');
CREATE TABLE oauth.client_sector_documents (
    client_id              text PRIMARY KEY REFERENCES oauth.clients ON DELETE CASCADE,
    sector_identifier_uri  text NOT NULL,
    redirect_uris          text[],
    fetched_at             timestamptz NOT NULL DEFAULT now(),
    last_error             text
);
CREATE TABLE oauth.subject_secret (
    only_one    boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    secret      bytea NOT NULL,
    kek_id      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('oauth.client_sector_documents', '');
SELECT pg_catalog.pg_extension_config_dump('oauth.subject_secret', '');
REVOKE ALL ON TABLE oauth.client_sector_documents, oauth.subject_secret FROM PUBLIC;
-- What the front calls to prove pairwise clients' sectors (owner, or whom the DBA grants).
-- oauth_server::api::client_sectors::client_sector_fetch
CREATE  FUNCTION "client_sector_fetch"(
	"client_id" TEXT /* Option < & str > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'client_sector_fetch_wrapper';

-- oauth_server::api::client_sectors::set_client_sector_document
CREATE  FUNCTION "set_client_sector_document"(
	"client_id" TEXT, /* Option < & str > */
	"sector_identifier_uri" TEXT, /* Option < & str > */
	"document" jsonb, /* Option < JsonB > */
	"error" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_client_sector_document_wrapper';
REVOKE ALL ON FUNCTION oauth.client_sector_fetch(text),
    oauth.set_client_sector_document(text, text, jsonb, text) FROM PUBLIC;

-- Back-channel logout (issue 33): the outbox, what writes it, and the users trigger telling
-- the clients of a disabled or deleted user.
-- OpenID Connect Back-Channel Logout: the outbox. When a session of ours ends (sign-out,
-- RP-initiated logout, oauth.revoke_sessions, an identity removed, its user disabled) or a user
-- is disabled or deleted, one row per client to tell is written in the same transaction
-- (oauth.queue_logouts, from the triggers below); the front claims due rows
-- (oauth.claim_logout_deliveries, which signs each logout token), POSTs them through its fetch
-- fence and reports each outcome (oauth.report_logout_delivery): delivered on a 2xx, else tried
-- again with backoff until given up. `user_id` is the local user (the token names them as the
-- client sees them); `jti` stays the same across retries, so a client can tell a retry.
CREATE TABLE oauth.logout_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id        text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    uri              text NOT NULL,
    user_id          text NOT NULL,
    sid              text,
    jti              text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
    reason           text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    given_up_at      timestamptz,
    last_status      integer,
    last_error       text
);
CREATE INDEX logout_deliveries_due ON oauth.logout_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX logout_deliveries_client ON oauth.logout_deliveries (client_id, created_at);

-- Queues the logouts of user `of_user`: of its session `of_sid` (the clients whose families
-- that session approved), or, with `of_sid` NULL, of the user (every client with a family of
-- theirs, by sub, unless the sessions this transaction ended told it of every such family; a
-- client that requires `sid` gets one row per session its families name, and none for
-- families no session of ours approved); `of_issuer`: only families a session of that trusted
-- issuer approved (oauth.revoke_user). Only clients with a backchannel_logout_uri.
CREATE FUNCTION oauth.queue_logouts(of_user text, of_sid text, why text,
                                    of_issuer text DEFAULT NULL) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
    INSERT INTO oauth.logout_deliveries (client_id, uri, user_id, sid, reason)
    SELECT t.client_id, t.uri, of_user, t.sid, why
    FROM (SELECT DISTINCT c.client_id, c.relying_party ->> 'backchannel_logout_uri' AS uri,
                 CASE WHEN of_sid IS NOT NULL THEN of_sid
                      WHEN (c.relying_party ->> 'backchannel_logout_session_required')::boolean
                      THEN g.user_claims ->> 'sid' END AS sid,
                 (c.relying_party ->> 'backchannel_logout_session_required')::boolean IS TRUE
                     AS needs_sid
          FROM oauth.grants g JOIN oauth.clients c ON c.client_id = g.client_id
          WHERE g.user_id = of_user AND g.grant_type <> 'client_credentials'
            AND c.relying_party ? 'backchannel_logout_uri'
            AND (of_sid IS NULL OR g.user_claims ->> 'sid' = of_sid)
            AND (of_issuer IS NULL OR g.user_claims ->> 'iss' = of_issuer)) t
    -- A client that requires sid is told only of sessions.
    WHERE NOT (t.needs_sid AND t.sid IS NULL)
      -- Nothing this transaction told the client already …
      AND NOT EXISTS (SELECT FROM oauth.logout_deliveries d
                      WHERE d.client_id = t.client_id AND d.user_id = of_user
                        AND d.created_at = now() AND d.sid IS NOT DISTINCT FROM t.sid)
      -- … and by sub only a client not told of any session now, or one with a family no
      -- session of ours approved (which no sid can end at the client).
      AND (t.sid IS NOT NULL
           OR NOT EXISTS (SELECT FROM oauth.logout_deliveries d
                          WHERE d.client_id = t.client_id AND d.user_id = of_user
                            AND d.created_at = now())
           OR EXISTS (SELECT FROM oauth.grants g2
                      WHERE g2.client_id = t.client_id AND g2.user_id = of_user
                        AND g2.grant_type <> 'client_credentials'
                        AND g2.user_claims ->> 'sid' IS NULL));
$$;

-- A session of ours ended by any path (a live one deleted too: its user deleted) tells the
-- clients whose families it approved.
CREATE FUNCTION oauth.session_ended() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.expires_at > now() THEN
            PERFORM oauth.queue_logouts(OLD.user_id, OLD.id::text, 'session deleted');
        END IF;
        RETURN NULL;
    END IF;
    PERFORM oauth.queue_logouts(NEW.user_id, NEW.id::text, coalesce(NEW.end_reason, 'session ended'));
    RETURN NULL;
END
$$;
CREATE TRIGGER session_ended AFTER UPDATE OF ended_at ON oauth.sessions
    FOR EACH ROW WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION oauth.session_ended();
CREATE TRIGGER session_deleted AFTER DELETE ON oauth.sessions
    FOR EACH ROW WHEN (OLD.ended_at IS NULL) EXECUTE FUNCTION oauth.session_ended();
CREATE OR REPLACE FUNCTION oauth.users_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Before forget_user deletes the families that say which clients to tell.
        PERFORM oauth.queue_logouts(OLD.id, NULL, 'user deleted');
        PERFORM oauth.forget_user(OLD.id);
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_deleted', OLD.id);
        RETURN OLD;
    END IF;
    IF NEW.disabled_at IS NOT NULL THEN
        UPDATE oauth.sessions SET ended_at = now(), end_reason = 'user disabled'
        WHERE user_id = NEW.id AND ended_at IS NULL;
    END IF;
    IF NEW.disabled_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.disabled_at IS NULL) THEN
        -- The sessions just ended told their clients; the rest of the user's clients now.
        PERFORM oauth.queue_logouts(NEW.id, NULL, 'user disabled');
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_disabled', NEW.id);
    ELSIF TG_OP = 'UPDATE' AND NEW.disabled_at IS NULL AND OLD.disabled_at IS NOT NULL THEN
        INSERT INTO oauth.audit_log (event, user_id) VALUES ('user_enabled', NEW.id);
    END IF;
    RETURN NEW;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('oauth.logout_deliveries', '');
REVOKE ALL ON TABLE oauth.logout_deliveries FROM PUBLIC;
REVOKE ALL ON FUNCTION oauth.queue_logouts(text, text, text, text), oauth.session_ended() FROM PUBLIC;
-- What the front calls to deliver logout tokens, and what an operator reads (owner, or whom
-- the DBA grants).
-- oauth_server::api::logout_deliveries::claim_logout_deliveries
CREATE  FUNCTION "claim_logout_deliveries"(
	"max_rows" INT DEFAULT 20 /* i32 */
) RETURNS jsonb /* JsonB */
STRICT VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'claim_logout_deliveries_wrapper';

-- oauth_server::api::logout_deliveries::report_logout_delivery
CREATE  FUNCTION "report_logout_delivery"(
	"id" TEXT, /* Option < & str > */
	"status" INT, /* Option < i32 > */
	"error" TEXT DEFAULT NULL, /* Option < & str > */
	"attempt" INT DEFAULT NULL /* Option < i32 > */
) RETURNS jsonb /* Option < JsonB > */
VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'report_logout_delivery_wrapper';

-- oauth_server::api::logout_deliveries::logout_deliveries
CREATE  FUNCTION "logout_deliveries"(
	"client_id" TEXT DEFAULT NULL, /* Option < & str > */
	"max_rows" INT DEFAULT 100 /* i32 */
) RETURNS jsonb /* JsonB */
STABLE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'logout_deliveries_wrapper';
REVOKE ALL ON FUNCTION oauth.claim_logout_deliveries(integer),
    oauth.report_logout_delivery(text, integer, text, integer), oauth.logout_deliveries(text, integer)
    FROM PUBLIC;

-- Database audiences and a client's default resources: a resource may be a database
-- (postgres://host/dbname, what PostgreSQL's OAuth validator checks as `aud`), and a client that
-- cannot send `resource` (libpq) gets its administrator's default resources instead. A resource
-- removed leaves every client's defaults too.
ALTER TABLE oauth.resources DROP CONSTRAINT resources_resource_check,
    ADD CONSTRAINT resources_resource_check
        CHECK (resource ~ '^(https?|postgres(ql)?)://' AND position('#' in resource) = 0);
ALTER TABLE oauth.clients ADD COLUMN default_resources text[]
    CHECK (cardinality(default_resources) BETWEEN 1 AND 10);
CREATE OR REPLACE FUNCTION oauth.resource_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = oauth, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.resource = OLD.resource THEN
        RETURN NULL;
    END IF;
    UPDATE oauth.clients
    SET default_resources = nullif(array_remove(default_resources, OLD.resource), '{}'),
        updated_at = now()
    WHERE OLD.resource = ANY (default_resources);
    PERFORM oauth.withdraw_grounds(NULL, '{}', NULL, ARRAY[OLD.resource], 'resource removed');
    RETURN NULL;
END
$$;

-- PostgreSQL 18's database sign-in (docs/db-login.md): what the validator checks tokens
-- against, published by the extension's background worker.
-- src/api/db_login.rs:13
-- oauth_server::api::db_login::db_login_snapshot
CREATE  FUNCTION "db_login_snapshot"() RETURNS jsonb /* JsonB */
STRICT VOLATILE SECURITY DEFINER
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'db_login_snapshot_wrapper';
REVOKE ALL ON FUNCTION oauth.db_login_snapshot() FROM PUBLIC;

-- Nobody but PUBLIC (below) holds what the DPoP, PAR and private_key_jwt sections created: not the roles the installing
-- role's default privileges name.
DO $$
DECLARE
    revoke text;
BEGIN
    FOR revoke IN
        SELECT format('REVOKE ALL ON TABLE %s FROM %s', c.oid::regclass, a.grantee::regrole)
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, c.relowner)
          AND c.relname IN ('used_jtis', 'dpop_nonces', 'pushed_requests', 'client_jwks',
                            'token_exchange_policies', 'client_sector_documents', 'subject_secret',
                            'logout_deliveries')
        UNION
        SELECT format('REVOKE ALL ON FUNCTION %s FROM %s', p.oid::regprocedure, a.grantee::regrole)
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.oid IN ('oauth.token(jsonb, text, text)'::regprocedure,
                        'oauth.userinfo(text, text, text)'::regprocedure,
                        'oauth.verify_dpop(text, text, text, text)'::regprocedure,
                        'oauth.dpop_jkt()'::regprocedure,
                        'oauth.par(jsonb, text, text)'::regprocedure,
                        'oauth.push_authorization_request(jsonb, text, text)'::regprocedure,
                        'oauth.client_jwks_fetches(text)'::regprocedure,
                        'oauth.set_client_jwks(text, jsonb, text)'::regprocedure,
                        'oauth.report_client_jwks_error(text, text)'::regprocedure,
                        'oauth.grant_revoked()'::regprocedure,
                        'oauth.grant_deleted()'::regprocedure,
                        'oauth.exchange_grounds_removed()'::regprocedure,
                        'oauth.exchange_policy_removed()'::regprocedure,
                        'oauth.queue_logouts(text, text, text, text)'::regprocedure,
                        'oauth.session_ended()'::regprocedure,
                        'oauth.claim_logout_deliveries(integer)'::regprocedure,
                        'oauth.report_logout_delivery(text, integer, text, integer)'::regprocedure,
                        'oauth.logout_deliveries(text, integer)'::regprocedure,
                        'oauth.allow_token_exchange(text, text, text, text[], boolean, boolean)'::regprocedure,
                        'oauth.disallow_token_exchange(text, text, text)'::regprocedure,
                        'oauth.token_exchange_policies(text)'::regprocedure,
                        'oauth.actor()'::regprocedure,
                        'oauth.act_chain()'::regprocedure,
                        'oauth.client_sector_fetch(text)'::regprocedure,
                        'oauth.set_client_sector_document(text, text, jsonb, text)'::regprocedure,
                        'oauth.db_login_snapshot()'::regprocedure)
          AND a.grantee NOT IN (0, p.proowner)
    LOOP
        EXECUTE revoke;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION oauth.token(jsonb, text, text), oauth.userinfo(text, text, text),
    oauth.verify_dpop(text, text, text, text), oauth.dpop_jkt(), oauth.par(jsonb, text, text),
    oauth.push_authorization_request(jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth.token(jsonb, text, text), oauth.userinfo(text, text, text),
    oauth.verify_dpop(text, text, text, text), oauth.dpop_jkt(), oauth.par(jsonb, text, text),
    oauth.push_authorization_request(jsonb, text, text) TO PUBLIC;

-- As the block above after the first 0.2.0 objects: the installing role's default privileges
-- must give nobody the tables and functions issue 28 added (their PUBLIC grants are above).
DO $$
DECLARE
    revoke text;
BEGIN
    FOR revoke IN
        SELECT format('REVOKE ALL ON TABLE %s FROM %s', c.oid::regclass, a.grantee::regrole)
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, c.relowner)
          AND c.relname IN ('revoked_users', 'deleted_users')
        UNION
        SELECT format('REVOKE ALL ON FUNCTION %s FROM %s', p.oid::regprocedure, a.grantee::regrole)
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.pronamespace = 'oauth'::regnamespace AND a.grantee NOT IN (0, p.proowner)
          AND p.proname IN ('forget_user', 'users_changed', 'users_checked',
                            'scope_removed', 'resource_removed', 'revoke_user',
                            'remove_scope', 'disable_user', 'enable_user', 'delete_user',
                            'admin_users', 'identity_removed', 'truncate_refused',
                            'scopes_allowed_for', 'loopback_parts', 'redirect_uri_matches', 'kept',
                            'withdraw_grounds', 'client_changed')
    LOOP
        EXECUTE revoke;
    END LOOP;
END
$$;
