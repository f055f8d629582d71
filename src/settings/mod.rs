//! `oauth_server.*` settings. All are SUSET: a session that could change the issuer, the
//! lifetimes or the hook could mint tokens the DBA never allowed. Set them with
//! `ALTER DATABASE … SET` or in postgresql.conf; defaults work for a local quickstart.
//!
//! Each setting is declared once, in the table below: the accessor the rest of the extension
//! calls, the setting's name, its `Kind` (how PostgreSQL keeps it and how it reads back), its
//! default, bounds for numbers, extra flags, and the two descriptions `pg_settings` shows
//! (`short_desc`, `extra_desc`). [`init`] registers every one of them, each accessor reads its
//! own, and docs/operations.md lists them all (crates/repo-checks compares the two).
//!
//! The table is here; how each kind of setting is kept and read, and the macro that turns the
//! table into PostgreSQL's settings, are in `kinds`.

mod kinds;

use kinds::{
    apply, settings, Bool, Kind, List, Milliseconds, Number, Seconds, Stored, Text, TextOrDefault,
};
use pgrx::guc::{GucFlags, GucSetting};

/// The most `oauth_server.clock_skew` may be: what remembers a `jti` until the skew can no
/// longer make its JWT acceptable uses it, whatever the setting is now.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

settings! {
    // Who we are, and where the browser goes to consent.

    /// The issuer without a trailing slash, so that `iss` compares equal however it was set.
    pub fn issuer() -> String {
        name: c"oauth_server.issuer",
        kind: Text,
        default: Some(c"http://localhost:8080"),
        short: c"Issuer URL: the iss of every token and of authorization responses.",
        long: c"The public base URL of the authorization server, without a trailing slash.",
        read: |v: Option<String>| v.map(|s| s.trim_end_matches('/').to_string()).unwrap_or_default(),
    }
    pub fn consent_url() -> Option<String> {
        name: c"oauth_server.consent_url",
        kind: Text,
        default: Some(c"http://localhost:8080/consent"),
        short: c"URL of the app's consent page.",
        long: c"oauth.authorize redirects the browser here with ?authorization_id=….",
    }

    // Lifetimes, in seconds.

    pub fn code_lifetime() -> i64 {
        name: c"oauth_server.code_lifetime",
        kind: Seconds,
        default: 600,
        bounds: (10, 3600),
        short: c"Lifetime of an authorization request and its code, from oauth.authorize.",
        long: c"",
    }
    pub fn access_token_lifetime() -> i64 {
        name: c"oauth_server.access_token_lifetime",
        kind: Seconds,
        default: 3600,
        bounds: (30, 86400),
        short: c"Lifetime of access and ID tokens.",
        long: c"",
    }
    pub fn refresh_token_lifetime() -> i64 {
        name: c"oauth_server.refresh_token_lifetime",
        kind: Seconds,
        default: 30 * 24 * 3600,
        bounds: (60, 365 * 86400),
        short: c"Lifetime of each refresh token (renewed on every rotation).",
        long: c"",
    }
    /// `oauth_server.refresh_retry_grace`, in seconds.
    pub fn refresh_retry_grace() -> f64 {
        name: c"oauth_server.refresh_retry_grace",
        kind: Seconds,
        default: 0,
        bounds: (0, 60),
        short: c"Seconds during which a client may present a refresh token it just used again, as a retry.",
        long: c"0 (the default): every reuse revokes the family. A retry gets a new refresh token and the unused one it replaces dies; allowed only while nothing else of the family was used.",
    }
    pub fn session_token_lifetime() -> i64 {
        name: c"oauth_server.session_token_lifetime",
        kind: Seconds,
        default: 3600,
        bounds: (30, 7 * 86400),
        short: c"Lifetime of session tokens minted by oauth.issue_session_token.",
        long: c"",
    }
    pub fn clock_skew() -> u64 {
        name: c"oauth_server.clock_skew",
        kind: Seconds,
        default: 30,
        bounds: (0, MAX_CLOCK_SKEW_SECS as i32),
        short: c"Leeway when checking exp and nbf of tokens presented to us.",
        long: c"",
        read: |v: i32| v.max(0) as u64,
    }

    // What tokens say, and the functions that may change it.

    pub fn default_audience() -> String {
        name: c"oauth_server.default_audience",
        kind: TextOrDefault,
        default: Some(c"authenticated"),
        short: c"aud of access tokens when no resource was requested.",
        long: c"PostgREST checks aud against its jwt-aud setting; Supabase uses 'authenticated'.",
    }
    pub fn default_role() -> String {
        name: c"oauth_server.default_role",
        kind: TextOrDefault,
        default: Some(c"authenticated"),
        short: c"role claim of access tokens: the Postgres role PostgREST switches to.",
        long: c"",
    }
    pub fn access_token_hook() -> Option<String> {
        name: c"oauth_server.access_token_hook",
        kind: Text,
        default: None,
        short: c"Function (jsonb) returns jsonb that may add or change access token claims.",
        long: c"Called with {client_id, user_id, scopes, resource, resources, claims}; returns {claims}.",
    }
    pub fn user_claims_function() -> Option<String> {
        name: c"oauth_server.user_claims_function",
        kind: Text,
        default: None,
        short: c"Function (jsonb) returns jsonb giving a user's OpenID Connect claims.",
        long: c"Called with {sub, client_id, scopes, session_claims}. Unset: auth.users when it exists, else the session's claims.",
    }

    // Upstream sign-in and the admin API.

    pub fn sign_in_hook() -> Option<String> {
        name: c"oauth_server.sign_in_hook",
        kind: Text,
        default: None,
        short: c"Function (jsonb) returns jsonb called on every upstream sign-in: may map the user to another sub, add session claims, or refuse.",
        long: c"Called with {provider, kind, identity, user}; returns {sub?, claims?, allow?, reason?}.",
    }
    /// `oauth_server.admin_session_roles`, parsed.
    pub fn admin_session_roles() -> Vec<oauth_core::protocol::admin_access::AdminRole> {
        name: c"oauth_server.admin_session_roles",
        kind: Text,
        default: None,
        short: c"Session roles (comma-separated) that may use the HTTP admin API besides administrator keys.",
        long: c"A bare role: this server's own sessions; issuer#role: a trusted issuer's. Unset: only administrator keys. authenticated and anon never administer.",
        read: |v: Option<String>| v.map(|s| oauth_core::protocol::admin_access::parse_roles(&s)).unwrap_or_default(),
    }
    pub fn link_verified_email() -> bool {
        name: c"oauth_server.link_verified_email",
        kind: Bool,
        default: false,
        short: c"Whether a new upstream identity joins the existing user with the same verified email.",
        long: c"Off by default. Only when both emails are verified by their providers.",
    }

    // Clients.

    pub fn dynamic_registration() -> bool {
        name: c"oauth_server.dynamic_registration",
        kind: Bool,
        default: false,
        short: c"Whether oauth.register_client (RFC 7591 dynamic registration) accepts requests.",
        long: c"Off by default: anyone who can reach the registration endpoint can create clients.",
    }

    // The key-encryption key. Paths only, but superuser-only to read too: who knows where the
    // KEK is knows what to steal.

    pub fn key_encryption_key_file() -> Option<String> {
        name: c"oauth_server.key_encryption_key_file",
        kind: Text,
        default: None,
        flags: GucFlags::SUPERUSER_ONLY,
        short: c"File with the 32-byte key that encrypts private signing keys at rest (base64 or hex).",
        long: c"Readable by the server's OS user only; never stored in the database.",
    }
    pub fn previous_key_encryption_key_file() -> Option<String> {
        name: c"oauth_server.previous_key_encryption_key_file",
        kind: Text,
        default: None,
        flags: GucFlags::SUPERUSER_ONLY,
        short: c"The previous key-encryption key file, during a rotation (oauth.rekey_signing_keys()).",
        long: c"Readable by the server's OS user only; never stored in the database.",
    }

    // The audit log.

    pub fn audit_retention_days() -> i64 {
        name: c"oauth_server.audit_retention_days",
        kind: Number,
        default: 90,
        bounds: (0, 36500),
        short: c"Days oauth.purge_expired() keeps audit log rows; 0 keeps them forever.",
        long: c"",
    }

    // Machines, registrants and whose functions we run.

    pub fn client_credentials_role() -> String {
        name: c"oauth_server.client_credentials_role",
        kind: TextOrDefault,
        default: Some(c"anon"),
        short: c"role claim of client_credentials (machine) tokens.",
        long: c"Must differ from default_role: a machine is not a signed-in user. Default anon.",
    }
    pub fn registration_grant_types() -> Vec<String> {
        name: c"oauth_server.registration_grant_types",
        kind: List,
        default: Some(c"authorization_code,refresh_token"),
        short: c"Grant types dynamic registration may register (comma-separated).",
        long: c"Default authorization_code,refresh_token: every token an anonymous registrant gets needs a user's consent.",
    }
    pub fn trusted_owners() -> Vec<String> {
        name: c"oauth_server.trusted_owners",
        kind: List,
        default: None,
        short: c"Roles (comma-separated) besides superusers whose hook, claims function and auth.users are trusted.",
        long: c"The access-token hook and user claims function run as their owner, and only when the owner is a superuser or listed here.",
    }

    // The device grant's limits on wrong user codes.

    pub fn user_code_failures_per_user() -> i64 {
        name: c"oauth_server.user_code_failures_per_user",
        kind: Number,
        default: 5,
        bounds: (1, 1000),
        short: c"Wrong user codes one user may enter in 10 minutes before further lookups are refused.",
        long: c"",
    }
    pub fn user_code_failures_per_minute() -> i64 {
        name: c"oauth_server.user_code_failures_per_minute",
        kind: Number,
        default: 60,
        bounds: (1, 100_000),
        short: c"Wrong user codes all users together may enter per minute before lookups are refused.",
        long: c"",
    }
    pub fn user_code_max_failures() -> i64 {
        name: c"oauth_server.user_code_max_failures",
        kind: Number,
        default: 1000,
        bounds: (1, 1_000_000),
        short: c"Wrong user codes entered during a device request's life after which it is refused.",
        long: c"Bounds the chance of guessing any one live user code at this number / 20^8 whatever the rate.",
    }

    // Client ID metadata documents (the MCP way).

    pub fn client_metadata_documents() -> bool {
        name: c"oauth_server.client_id_metadata_documents",
        kind: Bool,
        default: true,
        short: c"Whether a client may identify itself by the https URL of its metadata document.",
        long: c"The MCP way (Client ID Metadata Documents): the front fetches the document; such clients are public.",
    }

    // DPoP (RFC 9449): tokens bound to a key the client holds.

    pub fn dpop_proof_max_age() -> i64 {
        name: c"oauth_server.dpop_proof_max_age",
        kind: Seconds,
        default: 60,
        bounds: (5, crate::protocol::dpop::MAX_PROOF_AGE_SECS as i32),
        short: c"How old a DPoP proof may be (its iat) when it is presented.",
        long: c"Each proof's jti is remembered this long (plus the clock skew), so that a replay is refused.",
    }
    pub fn dpop_nonce() -> bool {
        name: c"oauth_server.dpop_nonce",
        kind: Bool,
        default: false,
        short: c"Whether DPoP proofs at the token endpoint must carry a nonce this server issued (DPoP-Nonce).",
        long: c"Proofs then cannot be made ahead of time; a client without the current nonce gets use_dpop_nonce and one.",
    }
    pub fn require_pushed_authorization_requests() -> bool {
        name: c"oauth_server.require_pushed_authorization_requests",
        kind: Bool,
        default: false,
        short: c"Whether every authorization request must be pushed first (RFC 9126, POST /oauth/par).",
        long: c"A request in the query string is then refused; clients can also require it one by one.",
    }
    pub fn dpop_api_url() -> Option<String> {
        name: c"oauth_server.dpop_api_url",
        kind: Text,
        default: None,
        short: c"The public URL of the API (PostgREST) whose requests oauth.dpop_jkt() checks proofs for.",
        long: c"The scheme, host and path prefix clients send requests to; request.path is appended to it to give the htu a proof must name.",
    }

    // Signing in to the database itself with our access tokens (PostgreSQL 18's OAuth
    // validator; docs/db-login.md). Read before any database is connected, so never per
    // database or role: postgresql.conf or ALTER SYSTEM only (SIGHUP).

    pub fn db_login_database() -> Option<String> {
        name: c"oauth_server.db_login_database",
        kind: Text,
        default: None,
        // Read when the worker starts (at server start): SIGHUP, not POSTMASTER, because a
        // POSTMASTER setting cannot be defined by a library loaded after start (CREATE
        // EXTENSION in a cluster that does not preload it).
        context: Sighup,
        short: c"The database holding oauth_server whose access tokens sign in to this cluster (PostgreSQL 18; read at server start).",
        long: c"With shared_preload_libraries = 'oauth_server', a background worker connected to it publishes what the OAuth validator checks logins against. Unset: no worker, and every OAuth login is refused.",
    }
    pub fn db_login_audience() -> Option<String> {
        name: c"oauth_server.db_login_audience",
        kind: Text,
        default: None,
        context: Sighup,
        short: c"The aud a token must carry to sign in to a database; %d stands for the database's name.",
        long: c"E.g. postgres://db.example.com/%d, each database's registered with oauth.add_resource. Unset: every OAuth login is refused.",
    }
    pub fn db_login_clients() -> Vec<String> {
        name: c"oauth_server.db_login_clients",
        kind: List,
        default: None,
        context: Sighup,
        short: c"Clients (comma-separated) whose users' access tokens may sign in to the database.",
        long: c"None by default: no token signs in until a client is named here.",
    }
    pub fn db_login_refresh_interval() -> u64 {
        name: c"oauth_server.db_login_refresh_interval",
        kind: Milliseconds,
        default: 500,
        bounds: (50, 60_000),
        context: Sighup,
        short: c"How often the background worker republishes the keys and live token families logins are checked against.",
        long: c"A revoked token, ended session or disabled user starts no new connection after about this long.",
        read: |v: i32| v.max(0) as u64,
    }
    pub fn db_login_max_age() -> i64 {
        name: c"oauth_server.db_login_max_age",
        kind: Milliseconds,
        default: 5000,
        bounds: (500, 600_000),
        context: Sighup,
        short: c"How old the published snapshot may be before every OAuth login is refused.",
        long: c"Bounds how long a revocation can go unseen when the background worker is stuck or gone.",
    }
    pub fn db_login_end_sessions() -> bool {
        name: c"oauth_server.db_login_end_sessions",
        kind: Bool,
        default: true,
        context: Sighup,
        short: c"Whether the worker ends sessions already open once their token family is revoked, their session ended or their user disabled.",
        long: c"Within the same bound as new connections (oauth_server.db_login_refresh_interval). Off: such sessions last until they end.",
    }
    /// Set by the validator at sign-in, never by hand.
    pub fn db_login_claims() -> Option<String> {
        name: c"oauth_server.db_login_claims",
        kind: Text,
        default: None,
        short: c"The claims of the token this session signed in to the database with (set by the OAuth validator).",
        long: c"What oauth.uid() and the other RLS helpers read in such a session, instead of request.jwt.claims, which the session could set; superuser-only, so that no other session can claim one. Parallel workers receive it with the session's settings.",
    }
}
