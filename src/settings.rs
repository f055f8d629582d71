//! `oauth_server.*` settings. All are SUSET: a session that could change the issuer, the
//! lifetimes or the hook could mint tokens the DBA never allowed. Set them with
//! `ALTER DATABASE … SET` or in postgresql.conf; defaults work for a local quickstart.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

static ISSUER: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"http://localhost:8080"));
static CONSENT_URL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"http://localhost:8080/consent"));
static CODE_LIFETIME: GucSetting<i32> = GucSetting::<i32>::new(600);
static ACCESS_TOKEN_LIFETIME: GucSetting<i32> = GucSetting::<i32>::new(3600);
static REFRESH_TOKEN_LIFETIME: GucSetting<i32> = GucSetting::<i32>::new(30 * 24 * 3600);
static SESSION_TOKEN_LIFETIME: GucSetting<i32> = GucSetting::<i32>::new(3600);
static REFRESH_RETRY_GRACE: GucSetting<i32> = GucSetting::<i32>::new(0);
static DEFAULT_AUDIENCE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"authenticated"));
static DEFAULT_ROLE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"authenticated"));
static ACCESS_TOKEN_HOOK: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static CLOCK_SKEW: GucSetting<i32> = GucSetting::<i32>::new(30);
static USER_CLAIMS_FUNCTION: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static DYNAMIC_REGISTRATION: GucSetting<bool> = GucSetting::<bool>::new(false);
static SIGN_IN_HOOK: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static ADMIN_SESSION_ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static LINK_VERIFIED_EMAIL: GucSetting<bool> = GucSetting::<bool>::new(false);
static CLIENT_METADATA_DOCUMENTS: GucSetting<bool> = GucSetting::<bool>::new(true);
static KEK_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static PREVIOUS_KEK_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static AUDIT_RETENTION_DAYS: GucSetting<i32> = GucSetting::<i32>::new(90);
static CLIENT_CREDENTIALS_ROLE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"anon"));
static REGISTRATION_GRANT_TYPES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"authorization_code,refresh_token"));
static TRUSTED_OWNERS: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static USER_CODE_FAILURES_PER_USER: GucSetting<i32> = GucSetting::<i32>::new(5);
static USER_CODE_FAILURES_PER_MINUTE: GucSetting<i32> = GucSetting::<i32>::new(60);
static USER_CODE_MAX_FAILURES: GucSetting<i32> = GucSetting::<i32>::new(1000);

pub fn init() {
    let string = |name, short, long, setting| {
        GucRegistry::define_string_guc(
            name,
            short,
            long,
            setting,
            GucContext::Suset,
            GucFlags::default(),
        )
    };
    let seconds = |name, short, long, setting, min, max| {
        GucRegistry::define_int_guc(
            name,
            short,
            long,
            setting,
            min,
            max,
            GucContext::Suset,
            GucFlags::UNIT_S,
        )
    };
    string(
        c"oauth_server.issuer",
        c"Issuer URL: the iss of every token and of authorization responses.",
        c"The public base URL of the authorization server, without a trailing slash.",
        &ISSUER,
    );
    string(
        c"oauth_server.consent_url",
        c"URL of the app's consent page.",
        c"oauth.authorize redirects the browser here with ?authorization_id=….",
        &CONSENT_URL,
    );
    seconds(
        c"oauth_server.code_lifetime",
        c"Lifetime of an authorization request and its code, from oauth.authorize.",
        c"",
        &CODE_LIFETIME,
        10,
        3600,
    );
    seconds(
        c"oauth_server.access_token_lifetime",
        c"Lifetime of access and ID tokens.",
        c"",
        &ACCESS_TOKEN_LIFETIME,
        30,
        86400,
    );
    seconds(
        c"oauth_server.refresh_token_lifetime",
        c"Lifetime of each refresh token (renewed on every rotation).",
        c"",
        &REFRESH_TOKEN_LIFETIME,
        60,
        365 * 86400,
    );
    seconds(
        c"oauth_server.refresh_retry_grace",
        c"Seconds during which a client may present a refresh token it just used again, as a retry.",
        c"0 (the default): every reuse revokes the family. A retry gets a new refresh token and the unused one it replaces dies; allowed only while nothing else of the family was used.",
        &REFRESH_RETRY_GRACE,
        0,
        60,
    );
    seconds(
        c"oauth_server.session_token_lifetime",
        c"Lifetime of session tokens minted by oauth.issue_session_token.",
        c"",
        &SESSION_TOKEN_LIFETIME,
        30,
        7 * 86400,
    );
    seconds(
        c"oauth_server.clock_skew",
        c"Leeway when checking exp and nbf of tokens presented to us.",
        c"",
        &CLOCK_SKEW,
        0,
        300,
    );
    string(
        c"oauth_server.default_audience",
        c"aud of access tokens when no resource was requested.",
        c"PostgREST checks aud against its jwt-aud setting; Supabase uses 'authenticated'.",
        &DEFAULT_AUDIENCE,
    );
    string(
        c"oauth_server.default_role",
        c"role claim of access tokens: the Postgres role PostgREST switches to.",
        c"",
        &DEFAULT_ROLE,
    );
    string(
        c"oauth_server.access_token_hook",
        c"Function (jsonb) returns jsonb that may add or change access token claims.",
        c"Called with {client_id, user_id, scopes, resource, resources, claims}; returns {claims}.",
        &ACCESS_TOKEN_HOOK,
    );
    string(
        c"oauth_server.user_claims_function",
        c"Function (jsonb) returns jsonb giving a user's OpenID Connect claims.",
        c"Called with {sub, client_id, scopes, session_claims}. Unset: auth.users when it exists, else the session's claims.",
        &USER_CLAIMS_FUNCTION,
    );
    string(
        c"oauth_server.sign_in_hook",
        c"Function (jsonb) returns jsonb called on every upstream sign-in: may map the user to another sub, add session claims, or refuse.",
        c"Called with {provider, kind, identity, user}; returns {sub?, claims?, allow?, reason?}.",
        &SIGN_IN_HOOK,
    );
    string(
        c"oauth_server.admin_session_roles",
        c"Session roles (comma-separated) that may use the HTTP admin API besides administrator keys.",
        c"A bare role: this server's own sessions; issuer#role: a trusted issuer's. Unset: only administrator keys. authenticated and anon never administer.",
        &ADMIN_SESSION_ROLES,
    );
    GucRegistry::define_bool_guc(
        c"oauth_server.link_verified_email",
        c"Whether a new upstream identity joins the existing user with the same verified email.",
        c"Off by default. Only when both emails are verified by their providers.",
        &LINK_VERIFIED_EMAIL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"oauth_server.dynamic_registration",
        c"Whether oauth.register_client (RFC 7591 dynamic registration) accepts requests.",
        c"Off by default: anyone who can reach the registration endpoint can create clients.",
        &DYNAMIC_REGISTRATION,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Paths only, but superuser-only to read too: who knows where the KEK is knows what to steal.
    for (name, short, setting) in [
        (
            c"oauth_server.key_encryption_key_file",
            c"File with the 32-byte key that encrypts private signing keys at rest (base64 or hex).",
            &KEK_FILE,
        ),
        (
            c"oauth_server.previous_key_encryption_key_file",
            c"The previous key-encryption key file, during a rotation (oauth.rekey_signing_keys()).",
            &PREVIOUS_KEK_FILE,
        ),
    ] {
        GucRegistry::define_string_guc(
            name,
            short,
            c"Readable by the server's OS user only; never stored in the database.",
            setting,
            GucContext::Suset,
            GucFlags::SUPERUSER_ONLY,
        );
    }
    GucRegistry::define_int_guc(
        c"oauth_server.audit_retention_days",
        c"Days oauth.purge_expired() keeps audit log rows; 0 keeps them forever.",
        c"",
        &AUDIT_RETENTION_DAYS,
        0,
        36500,
        GucContext::Suset,
        GucFlags::default(),
    );
    string(
        c"oauth_server.client_credentials_role",
        c"role claim of client_credentials (machine) tokens.",
        c"Must differ from default_role: a machine is not a signed-in user. Default anon.",
        &CLIENT_CREDENTIALS_ROLE,
    );
    string(
        c"oauth_server.registration_grant_types",
        c"Grant types dynamic registration may register (comma-separated).",
        c"Default authorization_code,refresh_token: every token an anonymous registrant gets needs a user's consent.",
        &REGISTRATION_GRANT_TYPES,
    );
    string(
        c"oauth_server.trusted_owners",
        c"Roles (comma-separated) besides superusers whose hook, claims function and auth.users are trusted.",
        c"The access-token hook and user claims function run as their owner, and only when the owner is a superuser or listed here.",
        &TRUSTED_OWNERS,
    );
    let count = |name, short, long, setting, max| {
        GucRegistry::define_int_guc(
            name,
            short,
            long,
            setting,
            1,
            max,
            GucContext::Suset,
            GucFlags::default(),
        )
    };
    count(
        c"oauth_server.user_code_failures_per_user",
        c"Wrong user codes one user may enter in 10 minutes before further lookups are refused.",
        c"",
        &USER_CODE_FAILURES_PER_USER,
        1000,
    );
    count(
        c"oauth_server.user_code_failures_per_minute",
        c"Wrong user codes all users together may enter per minute before lookups are refused.",
        c"",
        &USER_CODE_FAILURES_PER_MINUTE,
        100_000,
    );
    count(
        c"oauth_server.user_code_max_failures",
        c"Wrong user codes entered during a device request's life after which it is refused.",
        c"Bounds the chance of guessing any one live user code at this number / 20^8 whatever the rate.",
        &USER_CODE_MAX_FAILURES,
        1_000_000,
    );
    GucRegistry::define_bool_guc(
        c"oauth_server.client_id_metadata_documents",
        c"Whether a client may identify itself by the https URL of its metadata document.",
        c"The MCP way (Client ID Metadata Documents): the front fetches the document; such clients are public.",
        &CLIENT_METADATA_DOCUMENTS,
        GucContext::Suset,
        GucFlags::default(),
    );
}

fn string(setting: &GucSetting<Option<CString>>) -> Option<String> {
    setting
        .get()
        .and_then(|c| c.into_string().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The issuer without a trailing slash, so that `iss` compares equal however it was set.
pub fn issuer() -> String {
    string(&ISSUER)
        .map(|s| s.trim_end_matches('/').to_string())
        .unwrap_or_default()
}
pub fn consent_url() -> Option<String> {
    string(&CONSENT_URL)
}
pub fn code_lifetime() -> i64 {
    CODE_LIFETIME.get().into()
}
pub fn access_token_lifetime() -> i64 {
    ACCESS_TOKEN_LIFETIME.get().into()
}
pub fn refresh_token_lifetime() -> i64 {
    REFRESH_TOKEN_LIFETIME.get().into()
}
/// `oauth_server.refresh_retry_grace`, in seconds.
pub fn refresh_retry_grace() -> f64 {
    REFRESH_RETRY_GRACE.get().into()
}
pub fn session_token_lifetime() -> i64 {
    SESSION_TOKEN_LIFETIME.get().into()
}
pub fn clock_skew() -> u64 {
    CLOCK_SKEW.get().max(0) as u64
}
pub fn default_audience() -> String {
    string(&DEFAULT_AUDIENCE).unwrap_or_else(|| "authenticated".into())
}
pub fn default_role() -> String {
    string(&DEFAULT_ROLE).unwrap_or_else(|| "authenticated".into())
}
pub fn access_token_hook() -> Option<String> {
    string(&ACCESS_TOKEN_HOOK)
}
pub fn user_claims_function() -> Option<String> {
    string(&USER_CLAIMS_FUNCTION)
}
/// `oauth_server.admin_session_roles`, parsed.
pub fn admin_session_roles() -> Vec<oauth_core::protocol::admin_access::AdminRole> {
    string(&ADMIN_SESSION_ROLES)
        .map(|s| oauth_core::protocol::admin_access::parse_roles(&s))
        .unwrap_or_default()
}
pub fn sign_in_hook() -> Option<String> {
    string(&SIGN_IN_HOOK)
}
pub fn link_verified_email() -> bool {
    LINK_VERIFIED_EMAIL.get()
}
pub fn dynamic_registration() -> bool {
    DYNAMIC_REGISTRATION.get()
}
pub fn client_metadata_documents() -> bool {
    CLIENT_METADATA_DOCUMENTS.get()
}
pub fn audit_retention_days() -> i64 {
    AUDIT_RETENTION_DAYS.get().into()
}
pub fn key_encryption_key_file() -> Option<String> {
    string(&KEK_FILE)
}
pub fn previous_key_encryption_key_file() -> Option<String> {
    string(&PREVIOUS_KEK_FILE)
}
pub fn client_credentials_role() -> String {
    string(&CLIENT_CREDENTIALS_ROLE).unwrap_or_else(|| "anon".into())
}
fn list(setting: &GucSetting<Option<CString>>) -> Vec<String> {
    string(setting)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
pub fn registration_grant_types() -> Vec<String> {
    list(&REGISTRATION_GRANT_TYPES)
}
pub fn trusted_owners() -> Vec<String> {
    list(&TRUSTED_OWNERS)
}
pub fn user_code_failures_per_user() -> i64 {
    USER_CODE_FAILURES_PER_USER.get().into()
}
pub fn user_code_failures_per_minute() -> i64 {
    USER_CODE_FAILURES_PER_MINUTE.get().into()
}
pub fn user_code_max_failures() -> i64 {
    USER_CODE_MAX_FAILURES.get().into()
}
