//! Command-line flags and their environment variables.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The HTTP front of oauth_server: maps the OAuth 2.1 / OpenID Connect endpoints onto the
/// extension's SQL functions, one transaction per request.
#[derive(Parser, Debug, Clone)]
#[command(name = "oauth-front", version)]
pub struct Config {
    /// PostgreSQL connection string of the database where `CREATE EXTENSION oauth_server` ran.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "OAUTH_FRONT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Public base URL clients reach this front at. Checked against the database's
    /// `oauth_server.issuer` at start-up: the two must be equal.
    #[arg(long, env = "OAUTH_FRONT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Database connections in the pool.
    #[arg(long, env = "OAUTH_FRONT_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,

    /// Seconds between runs of `oauth.purge_expired()`; 0 turns the timer off (use pg_cron).
    #[arg(long, env = "OAUTH_FRONT_PURGE_INTERVAL", default_value_t = 600)]
    pub purge_interval: u64,

    /// Seconds between refreshes of every trusted issuer's keys (`oauth.issuers()`); 0 turns
    /// the timer off. Keys are also refreshed when a session names an unknown key, at most
    /// once a minute per issuer.
    #[arg(long, env = "OAUTH_FRONT_JWKS_REFRESH_INTERVAL", default_value_t = 600)]
    pub jwks_refresh_interval: u64,

    /// PEM file of extra CA certificates trusted when fetching issuer keys and client metadata
    /// documents (a private CA; tests).
    #[arg(long, env = "OAUTH_FRONT_FETCH_CA_FILE")]
    pub fetch_ca_file: Option<PathBuf>,

    /// Let client metadata documents be fetched from private, loopback and link-local
    /// addresses. Development and tests only: otherwise any client_id could probe the network
    /// the front sits in.
    #[arg(long, env = "OAUTH_FRONT_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,

    /// Dynamic registrations allowed per client IP per minute (the extension setting
    /// `oauth_server.dynamic_registration` decides whether registration is open at all).
    #[arg(long, env = "OAUTH_FRONT_REGISTER_PER_MINUTE", default_value_t = 10)]
    pub register_per_minute: u32,

    /// Failed client authentications (401 `invalid_client` at the token, revocation,
    /// introspection and device endpoints) allowed per client IP per minute; past it those
    /// endpoints answer 429 for that IP until the budget refills: secret guessing gets slow.
    #[arg(
        long,
        env = "OAUTH_FRONT_CLIENT_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 30
    )]
    pub client_auth_failures_per_minute: u32,

    /// Device user codes that may be tried per client IP per minute at the consent API.
    #[arg(long, env = "OAUTH_FRONT_USER_CODES_PER_MINUTE", default_value_t = 20)]
    pub user_codes_per_minute: u32,

    /// Take the client IP from the last X-Forwarded-For entry (only behind a proxy you run).
    #[arg(long, env = "OAUTH_FRONT_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Serve the reference consent page at /consent.
    #[arg(long, env = "OAUTH_FRONT_CONSENT_PAGE")]
    pub consent_page: bool,

    /// DEMO ONLY: let anyone sign in as any user name at POST /demo/session. Never in
    /// production: it mints session tokens without checking a password.
    #[arg(long, env = "OAUTH_FRONT_DEMO_LOGIN")]
    pub demo_login: bool,

    /// Log format: json or text.
    #[arg(long, env = "OAUTH_FRONT_LOG_FORMAT", default_value = "json")]
    pub log_format: String,
}
