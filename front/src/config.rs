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
    // Connection strings may hold a password: `--help` never prints their environment value.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// A hot standby of that database (repeatable, or comma-separated in the environment
    /// variable): JWKS, discovery, protected-resource metadata, userinfo and introspection are
    /// answered there when it is streaming and within `--replica-max-lag`; only positive
    /// answers are final, anything else is asked again on the primary (see docs/replicas.md).
    #[arg(
        long = "replica-url",
        env = "OAUTH_FRONT_REPLICA_URLS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub replica_urls: Vec<String>,

    /// Seconds of replay lag past which a replica answers nothing (while the primary answers).
    #[arg(long, env = "OAUTH_FRONT_REPLICA_MAX_LAG", default_value_t = 1.0)]
    pub replica_max_lag: f64,

    /// Milliseconds between checks of every replica's state (recovery, streaming, lag).
    #[arg(
        long,
        env = "OAUTH_FRONT_REPLICA_CHECK_INTERVAL",
        default_value_t = 500
    )]
    pub replica_check_interval: u64,

    /// Address to listen on.
    #[arg(long, env = "OAUTH_FRONT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Public base URL clients reach this front at. Checked against the database's
    /// `oauth_server.issuer` at start-up: the two must be equal (a trailing slash aside), or
    /// the front does not start.
    #[arg(long, env = "OAUTH_FRONT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Database connections in the pool.
    #[arg(long, env = "OAUTH_FRONT_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,

    /// Threads serving HTTP (default: a quarter of the CPUs, at least one). The database does
    /// about five times the front's work per request, so a quarter of the cores keeps up with
    /// the rest; more threads only add wake-ups between them (a quarter more CPU per request
    /// with two threads than one on two cores, docs/benchmarks.md).
    #[arg(long, env = "OAUTH_FRONT_WORKER_THREADS")]
    pub worker_threads: Option<usize>,

    /// Seconds between runs of `oauth.purge_expired()`; 0 turns the timer off (use pg_cron).
    #[arg(long, env = "OAUTH_FRONT_PURGE_INTERVAL", default_value_t = 600)]
    pub purge_interval: u64,

    /// Seconds between looks for back-channel logout tokens to deliver
    /// (`oauth.claim_logout_deliveries()`); 0 turns delivery off (another front delivers).
    #[arg(
        long,
        env = "OAUTH_FRONT_LOGOUT_DELIVERY_INTERVAL",
        default_value_t = 2
    )]
    pub logout_delivery_interval: u64,

    /// Seconds between refreshes of every trusted issuer's keys (`oauth.issuers()`) and every
    /// sign-in provider's discovery document and keys (`oauth.sign_in_provider_fetches()`);
    /// 0 turns the timer off. Both are also refreshed on demand (a session or ID token naming
    /// an unknown key, a provider never fetched), at most once a minute per issuer or provider.
    #[arg(long, env = "OAUTH_FRONT_JWKS_REFRESH_INTERVAL", default_value_t = 600)]
    pub jwks_refresh_interval: u64,

    /// PEM file of extra CA certificates trusted when fetching issuer keys, client metadata
    /// documents and from sign-in providers (a private CA; tests).
    #[arg(long, env = "OAUTH_FRONT_FETCH_CA_FILE")]
    pub fetch_ca_file: Option<PathBuf>,

    /// Let client metadata documents, trusted issuers' keys and sign-in providers (metadata,
    /// token requests) be fetched from private, loopback and link-local addresses (and all but
    /// client metadata documents over plain http on loopback).
    /// Development and tests only: otherwise any client_id could probe the network the front
    /// sits in.
    #[arg(long, env = "OAUTH_FRONT_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,

    /// Dynamic registrations allowed per client IP per minute (the extension setting
    /// `oauth_server.dynamic_registration` decides whether registration is open at all).
    #[arg(long, env = "OAUTH_FRONT_REGISTER_PER_MINUTE", default_value_t = 10)]
    pub register_per_minute: u32,

    /// Failed client authentications (401 `invalid_client` at the token, revocation,
    /// introspection and device endpoints) allowed per client_id and client address (an IPv6
    /// /64) per minute. Past it, a failed attempt of that client from that address is answered
    /// 429 after a pause, and attempts are checked one at a time: guessing gets slow, while the
    /// right secret always gets through and other clients and addresses are not affected.
    #[arg(
        long,
        env = "OAUTH_FRONT_CLIENT_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 30
    )]
    pub client_auth_failures_per_minute: u32,

    /// Device user codes that may be tried per client address (an IPv6 /64) per minute at the
    /// consent API: any authorization id that is not shaped like a real one counts.
    #[arg(long, env = "OAUTH_FRONT_USER_CODES_PER_MINUTE", default_value_t = 20)]
    pub user_codes_per_minute: u32,

    /// Client metadata document fetches that authorization requests from one client address
    /// (an IPv6 /64) may cause per minute (documents already fetched and fresh cost nothing).
    #[arg(
        long,
        env = "OAUTH_FRONT_DOCUMENT_FETCHES_PER_MINUTE",
        default_value_t = 10
    )]
    pub document_fetches_per_minute: u32,

    /// Client metadata document fetches per minute to one host, whoever asks: the front is
    /// not a way to hammer someone else's server from many addresses.
    #[arg(
        long,
        env = "OAUTH_FRONT_DOCUMENT_FETCHES_PER_HOST_PER_MINUTE",
        default_value_t = 30
    )]
    pub document_fetches_per_host_per_minute: u32,

    /// Number of reverse proxies in front of this one that you run (a TLS terminator = 1, a
    /// CDN then a load balancer = 2). The client address is then the N-th `X-Forwarded-For`
    /// entry from the right (the one your outermost proxy appended); 0 = the socket's peer.
    #[arg(long, env = "OAUTH_FRONT_TRUSTED_PROXY_HOPS", default_value_t = 0)]
    pub trusted_proxy_hops: usize,

    /// Same as `--trusted-proxy-hops 1` (kept for existing deployments).
    #[arg(long, env = "OAUTH_FRONT_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// PEM file of CA certificates for TLS to Postgres, like libpq's `sslrootcert` (which
    /// the connection string may also carry). With it, `sslmode=require` verifies the chain
    /// as `verify-ca` does.
    #[arg(long, env = "PGSSLROOTCERT")]
    pub db_ssl_root_cert: Option<PathBuf>,

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

impl Config {
    /// The trusted proxy hop count, `--trust-forwarded-for` counting as 1.
    pub fn proxy_hops(&self) -> usize {
        if self.trust_forwarded_for {
            self.trusted_proxy_hops.max(1)
        } else {
            self.trusted_proxy_hops
        }
    }
}
