-- oauth_server 0.1.0 -> 0.2.0. Every schema change made after 0.1.0 goes here, in order, so
-- that ALTER EXTENSION oauth_server UPDATE brings a 0.1.0 install to exactly what a fresh
-- 0.2.0 install has (scripts/upgrade-test.sh checks it). Functions whose SQL signature or
-- attributes change are dropped and created again here; their C symbols stay in the library.

-- The grant types stored are the closed set of model::GrantType; a grant row is an
-- authorization code's (device codes too) or client_credentials'. 0.1.0 wrote nothing else.
ALTER TABLE oauth.clients ADD CONSTRAINT clients_grant_types_known CHECK (
    grant_types <@ ARRAY['authorization_code', 'refresh_token', 'client_credentials',
                         'urn:ietf:params:oauth:grant-type:device_code']::text[]);
ALTER TABLE oauth.grants ADD CONSTRAINT grants_grant_type_known
    CHECK (grant_type IN ('authorization_code', 'client_credentials'));

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
