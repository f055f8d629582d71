-- oauth_server schema: tables and indexes. Included as the bootstrap step of the install
-- script; privileges are in finalize.sql. Every secret value (client secret, code, refresh
-- token) is stored only as the SHA-256 of a 256-bit random value.

-- Scopes a client may be allowed, with the text the consent page shows. The OIDC scopes
-- (openid, profile, email, phone) are built in; rows here add scopes or override their text.
-- (Not seeded here: seeded rows would collide with the restored ones after pg_dump.)
CREATE TABLE oauth.scopes (
    name        text PRIMARY KEY CHECK (name ~ '^[\x21\x23-\x5B\x5D-\x7E]{1,128}$'),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE oauth.clients (
    client_id                  text PRIMARY KEY,
    client_secret_hash         bytea CHECK (octet_length(client_secret_hash) = 32),
    client_type                text NOT NULL CHECK (client_type IN ('confidential', 'public')),
    name                       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    redirect_uris              text[] NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 0 AND 10),
    -- NULL: any built-in scope or scope in oauth.scopes.
    scopes                     text[],
    -- The closed set of model::GrantType (named, so that an upgraded install and a fresh one
    -- dump the same).
    grant_types                text[] NOT NULL CONSTRAINT clients_grant_types_known CHECK (
        grant_types <@ ARRAY['authorization_code', 'refresh_token', 'client_credentials',
                             'urn:ietf:params:oauth:grant-type:device_code',
                             'urn:ietf:params:oauth:grant-type:token-exchange']::text[]),
    token_endpoint_auth_method text NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none',
                                              'private_key_jwt')),
    client_uri                 text,
    logo_uri                   text,
    -- Set for a client whose client_id is the URL of its metadata document (the MCP way to
    -- identify a client): when the front last fetched and stored that document.
    metadata_document_fetched_at timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    -- How the client came to be: by an administrator (oauth.create_client, the admin API) or
    -- by RFC 7591 dynamic registration. Shown by oauth.client(s) as Supabase does.
    registration_type          text NOT NULL DEFAULT 'manual'
        CHECK (registration_type IN ('manual', 'dynamic')),
    -- RFC 9449 §5.2: every token request of the client must carry a DPoP proof.
    dpop_bound_access_tokens   boolean NOT NULL DEFAULT false,
    -- RFC 9126 §6: every authorization request of the client must be pushed first.
    require_pushed_authorization_requests boolean NOT NULL DEFAULT false,
    -- OpenID Connect relying-party metadata beyond the core (client_metadata::RelyingParty):
    -- subject_type (pairwise subjects, with sector_identifier_uri) and back-channel logout
    -- (backchannel_logout_uri, backchannel_logout_session_required); NULL: every default.
    relying_party              jsonb CHECK (jsonb_typeof(relying_party) = 'object'),
    -- RFC 8707 resource servers (in oauth.resources) an authorization request of the client that
    -- names none is for: as if it had named them (a client that cannot send `resource`, such as
    -- PostgreSQL's libpq). NULL: none. Set by administrators only (oauth.update_client); a
    -- resource removed leaves it (resource_removed).
    default_resources          text[] CHECK (cardinality(default_resources) BETWEEN 1 AND 10),
    -- A confidential client has a secret, unless it signs assertions with its own keys
    -- (private_key_jwt, oauth.client_jwks); a public one never does.
    CHECK ((client_secret_hash IS NOT NULL)
           = (client_type = 'confidential' AND token_endpoint_auth_method <> 'private_key_jwt')),
    CHECK ((client_type = 'public') = (token_endpoint_auth_method = 'none'))
);

-- Pending authorization requests and the codes issued for them. One row per request:
-- pending -> approved (code issued) -> redeemed, or pending -> denied. A device authorization
-- (RFC 8628, kind 'device') has no redirect URI or PKCE: the device polls with its device code
-- while the user enters the user code on the consent page.
CREATE TABLE oauth.authorizations (
    id                  text PRIMARY KEY,
    kind                text NOT NULL DEFAULT 'code' CHECK (kind IN ('code', 'device')),
    client_id           text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    redirect_uri        text,
    -- Whether the request named redirect_uri; if so the token request must repeat it.
    redirect_uri_given  boolean NOT NULL DEFAULT false,
    scopes              text[] NOT NULL,
    state               text,
    nonce               text,
    code_challenge      text,
    -- RFC 8707 resource indicators, each registered in oauth.resources.
    resources           text[] NOT NULL DEFAULT '{}',
    -- OIDC prompt values (none, login, consent, select_account) and max_age, in seconds.
    prompt              text,
    max_age             integer CHECK (max_age >= 0),
    -- Device requests: oauth.user_code_failure_count when the request was made; the wrong
    -- user codes entered during its life are the counter's growth since.
    failures_at_start   bigint,
    user_id             text,
    status              text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    code_hash           bytea UNIQUE CHECK (octet_length(code_hash) = 32),
    -- Device authorizations: the device code's hash, the code the user types, and polling.
    device_code_hash    bytea UNIQUE CHECK (octet_length(device_code_hash) = 32),
    user_code           text UNIQUE,
    poll_interval       integer,
    last_polled_at      timestamptz,
    auth_time           timestamptz,
    -- The user claims (email, name, …) of the session that approved the request: the source of
    -- ID token and userinfo claims when no user table or claims function is configured.
    user_claims         jsonb,
    -- The token family this code issued: revoked if the code is replayed.
    grant_id            uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    -- The `sub` of the request's id_token_hint (OIDC Core §3.1.2.1): no other user answers it.
    hint_sub            text,
    -- RFC 9449 §10: the thumbprint of the key the request bound the code to (dpop_jkt); the
    -- token request must carry a proof by that key.
    dpop_jkt            text CHECK (dpop_jkt ~ '^[A-Za-z0-9_-]{43}$'),
    -- RFC 9126: whether the request was pushed (oauth.par) rather than sent in the query.
    pushed              boolean NOT NULL DEFAULT false,
    CHECK (kind = 'device' OR (status IN ('approved', 'redeemed')) = (code_hash IS NOT NULL)),
    CHECK ((kind = 'code') = (redirect_uri IS NOT NULL AND code_challenge IS NOT NULL)),
    CHECK ((kind = 'device') = (device_code_hash IS NOT NULL AND user_code IS NOT NULL
                                AND poll_interval IS NOT NULL))
);
CREATE INDEX authorizations_expires_at ON oauth.authorizations (expires_at);
CREATE INDEX authorizations_client_id ON oauth.authorizations (client_id);

-- What each user has allowed each client, per audience: the scopes approved for each resource
-- (RFC 8707) or, for requests naming none, for the default audience, accumulating:
-- {"https://api.example": ["openid", "read"]}. A request is approved without asking only
-- when every audience it asks for lists every scope it asks for: an approval of "write" for
-- one API and of "read" for another approves neither "write" for the other.
CREATE TABLE oauth.consents (
    user_id     text NOT NULL,
    client_id   text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    scopes_by_audience jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(scopes_by_audience) = 'object'),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (user_id, client_id)
);
-- Both keys, not just the client (which is what ON DELETE CASCADE from clients needs): with
-- statistics from when the table held one consent, a plan saw (client_id) and the primary key
-- as equally selective and scanned the client's every consent per lookup (plan_rules.rs).
CREATE INDEX consents_client_user ON oauth.consents (client_id, user_id);

-- A grant is a token family: one code exchange and every refresh that follows it. Its id is
-- the session_id claim of the access tokens it issues.
CREATE TABLE oauth.grants (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    user_id           text NOT NULL,
    scopes            text[] NOT NULL,
    resources         text[] NOT NULL DEFAULT '{}',
    -- authorization_code (also device codes, which issue the same way), client_credentials,
    -- whose user_id is the client itself, or token exchange (RFC 8693), derived from the family
    -- of the subject token (source_grant_id) or from a trusted issuer's session.
    grant_type        text NOT NULL DEFAULT 'authorization_code'
        CONSTRAINT grants_grant_type_known
        CHECK (grant_type IN ('authorization_code', 'client_credentials',
                              'urn:ietf:params:oauth:grant-type:token-exchange')),
    auth_time         timestamptz NOT NULL,
    user_claims       jsonb,
    authorization_id  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_used_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at        timestamptz,
    revoked_reason    text,
    -- RFC 9449 §5: the key a public client's family is bound to (the first proof's): each
    -- refresh must carry a proof by it.
    dpop_jkt          text CHECK (dpop_jkt ~ '^[A-Za-z0-9_-]{43}$'),
    -- RFC 8693 token exchange: the family of the subject token this one was derived from
    -- (revoking or deleting it revokes or deletes this: grant_revoked, grant_deleted), what the
    -- exchange recorded (the subject's client, audiences and scopes; act and may_act), and when
    -- the family ends at the latest (it never outlives what its source could reach when it was
    -- derived).
    source_grant_id uuid,
    exchange          jsonb CHECK (jsonb_typeof(exchange) = 'object'),
    expires_at        timestamptz,
    CONSTRAINT grants_exchange_recorded CHECK (
        (grant_type = 'urn:ietf:params:oauth:grant-type:token-exchange')
        = (exchange IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX grants_source ON oauth.grants (source_grant_id) WHERE source_grant_id IS NOT NULL;
CREATE INDEX grants_user_client ON oauth.grants (user_id, client_id);
-- (client_id, user_id), not (client_id): as consents_client_user.
CREATE INDEX grants_client_user ON oauth.grants (client_id, user_id);

-- Refresh tokens, rotated on every use. A used token presented again revokes its family.
CREATE TABLE oauth.refresh_tokens (
    token_hash  bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    grant_id    uuid NOT NULL REFERENCES oauth.grants ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_grant_id ON oauth.refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at ON oauth.refresh_tokens (expires_at);

-- Signing keys: next -> current -> previous. JWKS lists all three, so a key is announced
-- before it signs and still verifies after it stops. Private keys: PKCS#8 DER, readable only
-- by the extension's owner (and so by its SECURITY DEFINER functions).
CREATE TABLE oauth.signing_keys (
    kid          text PRIMARY KEY,
    alg          text NOT NULL CHECK (alg IN ('ES256', 'RS256', 'EdDSA')),
    status       text NOT NULL CHECK (status IN ('next', 'current', 'previous')),
    public_jwk   jsonb NOT NULL,
    -- PKCS#8 DER, or, when kek_id is set, AES-256-GCM sealed with the key-encryption key of
    -- that fingerprint (kept outside the database: oauth_server.key_encryption_key_file).
    private_key  bytea NOT NULL,
    kek_id       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
-- At most one key in each of next and current.
CREATE UNIQUE INDEX signing_keys_one_next ON oauth.signing_keys (status) WHERE status = 'next';
CREATE UNIQUE INDEX signing_keys_one_current ON oauth.signing_keys (status) WHERE status = 'current';

-- Trusted third-party session issuers (Supabase Auth, Clerk, Firebase Auth, Auth0, Cognito,
-- WorkOS, …): the consent API accepts their users' session tokens. `options` is the validated
-- policy with every option filled in (audiences, claim mapping); `jwks` holds only sanitised
-- public signing keys, refreshed by the front from the issuer's discovery document.
CREATE TABLE oauth.issuers (
    issuer          text PRIMARY KEY CHECK (issuer ~ '^https?://'),
    options         jsonb NOT NULL,
    jwks            jsonb NOT NULL DEFAULT '{"keys": []}',
    -- Where the keys were last fetched from (configured or discovered).
    jwks_uri        text,
    jwks_fetched_at timestamptz,
    last_error      text,
    last_error_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Resource servers (RFC 8707) tokens may be requested for, such as a PostgREST API, an MCP
-- server or a database (postgres://host/dbname, the audience PostgreSQL's OAuth validator
-- checks): a requested `resource` must be listed here, and becomes the access token's `aud`.
-- Each row is also the RFC 9728 protected resource metadata served for it.
CREATE TABLE oauth.resources (
    resource    text PRIMARY KEY
        CHECK (resource ~ '^(https?|postgres(ql)?)://' AND position('#' in resource) = 0),
    name        text,
    -- scopes_supported of its metadata; NULL: every scope except the OpenID Connect ones.
    scopes      text[],
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Wrong device user codes entered on the consent page (RFC 8628 §5.1), per signed-in user:
-- the per-user and global limits and the lockout of live device requests count these rows.
-- Kept for an hour by purge_expired.
CREATE TABLE oauth.user_code_failures (
    id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_code_failures_at ON oauth.user_code_failures (at);
-- Every wrong user code ever entered, counted outside transactions: nextval is never rolled
-- back, so a caller that rolls back its guesses (or runs them in parallel) is still counted by
-- the lockout of live device requests.
CREATE SEQUENCE oauth.user_code_failure_count;
CREATE INDEX user_code_failures_user_at ON oauth.user_code_failures (user_id, at);

-- Security-relevant events, for administrators: clients created, changed, deleted and their
-- secrets rotated; consents granted, denied and withdrawn; replayed codes, reused refresh
-- tokens and other revocations; failed client authentication; signing key rotations; trusted
-- issuer and resource changes. Never a secret, code or token: only ids.
CREATE TABLE oauth.audit_log (
    -- A uuid rather than a sequence: pg_dump restores the rows without a sequence to carry.
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    event      text NOT NULL,
    client_id  text,
    user_id    text,
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON oauth.audit_log (at);
CREATE INDEX audit_log_event_at ON oauth.audit_log (event, at);
CREATE INDEX audit_log_client_at ON oauth.audit_log (client_id, at);

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
    end_reason  text,
    -- The identity (with `provider`) the session was signed in through: unlinking it ends
    -- the session. NULL for sessions minted otherwise (oauth.issue_session_token).
    identity_issuer  text,
    identity_subject text
);
CREATE INDEX sessions_user ON oauth.sessions (user_id);
CREATE INDEX sessions_expires ON oauth.sessions (expires_at);
CREATE INDEX sessions_identity ON oauth.sessions (provider, identity_subject)
    WHERE identity_subject IS NOT NULL;

-- Keys that authorise the HTTP admin API (the front's /auth/v1/admin routes): only the
-- SHA-256 of each high-entropy key is stored. Several may be live at once, so a key rotates
-- without downtime: create the next, deploy it, revoke the old one.
CREATE TABLE oauth.admin_keys (
    name         text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    key_hash     bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- Decisions that outlive their grounds (docs/security.md#decisions-that-outlive-their-grounds):
-- state changes an owner may also make with a direct UPDATE or DELETE take effect the same
-- way as through the functions, so these are triggers rather than code in the functions.

-- Users deleted (oauth.delete_user, DELETE FROM oauth.users), with when. Sessions we issued
-- are rows, deleted with the user; another login's sessions (a trusted issuer's, an app's own
-- login through request.jwt.claims) are not ours to end, so those issued until the deletion
-- are refused by this record, as oauth.revoked_users does for one issuer: deleting a user is
-- never weaker than disabling them (whose flag went with the row). A later sign-in works.
-- Kept: a session of unknown lifetime may be presented at any time.
CREATE TABLE oauth.deleted_users (
    sub         text PRIMARY KEY CHECK (sub <> ''),
    deleted_at  timestamptz NOT NULL DEFAULT now()
);

-- What a deleted user leaves behind goes with them: consents, token families (their access
-- tokens stop verifying), requests, sessions, wrong-code counts. Not foreign keys: `user_id`
-- in those tables is also the `sub` of users this extension does not hold (an app's own
-- login, a trusted issuer's), so oauth.delete_user runs this for those too.
CREATE FUNCTION oauth.forget_user(sub text) RETURNS void
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

-- Disabling ends the user's sessions at once (their families are refused while disabled, at
-- every check, and work again once enabled); deleting forgets the user. Audited either way.
-- A user inserted already disabled is disabled as any other: sessions minted for that sub
-- before the row existed end too (they would otherwise wake up at enable_user).
-- Any write of a non-null disabled_at ends the sessions, not only the first: a session an
-- administrator minted while the user was disabled (oauth.issue_session_token) must not wake
-- up at enable_user because disabled_at was rewritten rather than set.
CREATE FUNCTION oauth.users_changed() RETURNS trigger
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
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OF disabled_at OR DELETE ON oauth.users
    FOR EACH ROW EXECUTE FUNCTION oauth.users_changed();

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
CREATE FUNCTION oauth.scope_removed() RETURNS trigger
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
CREATE TRIGGER scope_removed AFTER UPDATE OF name OR DELETE ON oauth.scopes
    FOR EACH ROW EXECUTE FUNCTION oauth.scope_removed();

-- A resource server removed (oauth.remove_resource, a direct DELETE, or moved to another URL with
-- an UPDATE) is taken out of every client's default resources (NULL when none is left) and of
-- every request, family and consent that named it (oauth.withdraw_grounds): another server
-- registered later at that URL is asked for, never approved silently, never a client's default
-- again unless an administrator says so, and no token is minted for it from an earlier decision.
-- Clients first, as scope_removed.
CREATE FUNCTION oauth.resource_removed() RETURNS trigger
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

-- Users of trusted issuers revoked by an administrator (oauth.revoke_user): we cannot end
-- another issuer's sessions, so those of `sub` issued at or before `revoked_at` are refused
-- (as tokens and as request.jwt.claims). `issuer` is the trusted issuer exactly as stored and
-- `sub` the user id as sessions are normalised (what oauth.uid() reads). Kept after the
-- issuer is removed: trusting it again must not bring old sessions back.
CREATE TABLE oauth.revoked_users (
    issuer      text NOT NULL CHECK (issuer ~ '^https?://'),
    sub         text NOT NULL CHECK (length(sub) BETWEEN 1 AND 255),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, sub)
);

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

-- Pushed authorization requests (RFC 9126): the parameters a client pushed, under the hash of
-- the request_uri it got, usable once, by that client, for a minute.
CREATE TABLE oauth.pushed_requests (
    request_uri_hash  bytea PRIMARY KEY CHECK (octet_length(request_uri_hash) = 32),
    client_id         text NOT NULL REFERENCES oauth.clients ON DELETE CASCADE,
    params            jsonb NOT NULL CHECK (jsonb_typeof(params) = 'object'),
    expires_at        timestamptz NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON oauth.pushed_requests (expires_at);
CREATE INDEX pushed_requests_client_id ON oauth.pushed_requests (client_id);

-- The public keys of a private_key_jwt client (RFC 7523): given inline (jwks, jwks_uri NULL), or
-- published at jwks_uri and fetched by the front (jwks what it last stored, fetched_at when;
-- last_error why the last fetch failed). Only public signing keys with a kid are kept.
CREATE TABLE oauth.client_jwks (
    client_id      text PRIMARY KEY REFERENCES oauth.clients ON DELETE CASCADE,
    jwks           jsonb NOT NULL DEFAULT '{"keys": []}' CHECK (jsonb_typeof(jwks -> 'keys') = 'array'),
    jwks_uri       text,
    fetched_at     timestamptz,
    last_error     text,
    last_error_at  timestamptz
);

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

-- Pairwise subjects (OIDC Core §8.1): the sector identifier document the front last fetched
-- for a pairwise client's sector_identifier_uri (the redirect URIs it lists), or why it could
-- not. A client's identifiers come from that URI's host only once a document fetched from it
-- lists every redirect URI of the client.
CREATE TABLE oauth.client_sector_documents (
    client_id              text PRIMARY KEY REFERENCES oauth.clients ON DELETE CASCADE,
    sector_identifier_uri  text NOT NULL,
    redirect_uris          text[],
    fetched_at             timestamptz NOT NULL DEFAULT now(),
    last_error             text
);

-- The secret pairwise identifiers are keyed with (protocol::pairwise::subject): one, made on
-- first use, 32 random bytes, sealed with the key-encryption key when one is configured (as
-- the signing keys are; oauth.rekey_signing_keys re-seals it). Never rotated: a new secret
-- would give every pairwise client's users new identifiers.
CREATE TABLE oauth.subject_secret (
    only_one    boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    secret      bytea NOT NULL,
    kek_id      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

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
