//! `oauth-front`: the HTTP front of oauth_server. See `routes` for the endpoints and `sql` for
//! how each maps onto one SQL function in one transaction.

mod client_documents;
mod config;
mod db_tls;
mod fetch;
mod issuer_keys;
mod on_demand;
mod pages;
mod provider_metadata;
mod rate_limit;
mod replicas;
mod routes;
mod sign_in;
mod sql;
mod supabase;

use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use clap::Parser;
use config::Config;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let config = Config::parse();
    init_logging(&config.log_format);
    let threads = config
        .worker_threads
        .unwrap_or_else(default_worker_threads)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(rt) => rt.block_on(run(config)),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "oauth-front stopped");
        std::process::exit(1);
    }
}

/// A quarter of the CPUs this process may use, at least one (see `--worker-threads`).
fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 4).max(1))
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OAUTH_FRONT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "text" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

/// A connection pool to the database at `url` (TLS as libpq would do it).
fn db_pool(
    url: &str,
    root_cert: Option<&std::path::Path>,
    size: usize,
) -> Result<Pool, Box<dyn std::error::Error>> {
    let tls = db_tls::split(url, root_cert)?;
    let pg: tokio_postgres::Config = tls.connection_string.parse()?;
    tracing::info!(hosts = ?pg.get_hosts(), sslmode = ?tls.mode, sslrootcert = ?tls.root_cert, "database connection");
    let manager = Manager::from_config(
        pg,
        tokio_postgres_rustls::MakeRustlsConnect::new(db_tls::client_config(&tls)?),
        // Fast recycling: a connection whose socket closed (Postgres restarted, a failover)
        // is detected by tokio-postgres and replaced instead of being handed out; a
        // multi-host string with target_session_attrs=read-write then finds the new primary.
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?)
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let root_cert = config.db_ssl_root_cert.as_deref();
    let pool = db_pool(&config.database_url, root_cert, config.pool_size)?;
    let mut standbys = Vec::new();
    for url in &config.replica_urls {
        let pg: tokio_postgres::Config =
            db_tls::split(url, root_cert)?.connection_string.parse()?;
        let name = format!("{:?}:{:?}", pg.get_hosts(), pg.get_ports());
        standbys.push((name, db_pool(url, root_cert, config.pool_size)?));
    }
    let replicas = Arc::new(replicas::Replicas::new(standbys, config.replica_max_lag));
    if !replicas.is_empty() {
        tokio::spawn(replica_checks(
            replicas.clone(),
            pool.clone(),
            config.replica_check_interval,
        ));
    }
    check_issuer(&pool, config.public_url.as_deref()).await;
    if config.demo_login {
        tracing::warn!(
            "--demo-login is on: anyone can sign in as any user. Never use it in production."
        );
    }
    if config.purge_interval > 0 {
        tokio::spawn(purge_timer(pool.clone(), config.purge_interval));
    }
    let extra_roots = match &config.fetch_ca_file {
        Some(path) => reqwest::Certificate::from_pem_bundle(&std::fs::read(path)?)?,
        None => Vec::new(),
    };
    if config.allow_private_fetch {
        tracing::warn!("--allow-private-fetch is on: client metadata documents, issuer keys and sign-in providers may be fetched from private addresses");
    }
    let issuer_keys = Arc::new(issuer_keys::IssuerKeys::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
    )?);
    let client_documents = client_documents::ClientDocuments::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
        client_documents::FetchLimits {
            per_address_per_minute: config.document_fetches_per_minute,
            per_host_per_minute: config.document_fetches_per_host_per_minute,
        },
    )?;
    let providers = Arc::new(provider_metadata::ProviderMetadata::new(
        pool.clone(),
        &extra_roots,
        config.allow_private_fetch,
    )?);
    let sign_in = sign_in::SignIn::new(
        &extra_roots,
        config.allow_private_fetch,
        config.public_url.clone(),
    )?;
    if config.jwks_refresh_interval > 0 {
        tokio::spawn(refresh_timer(
            issuer_keys.clone(),
            providers.clone(),
            config.jwks_refresh_interval,
        ));
    }
    let state = Arc::new(routes::AppState {
        pool,
        replicas,
        issuer_keys,
        providers,
        sign_in,
        client_documents,
        register_limit: rate_limit::RateLimiter::new(config.register_per_minute),
        user_code_limit: rate_limit::RateLimiter::new(config.user_codes_per_minute),
        client_auth_failures: rate_limit::FailureBudget::new(
            config.client_auth_failures_per_minute,
        ),
        proxy_hops: config.proxy_hops(),
    });
    let app = routes::router(state, config.consent_page, config.demo_login)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(middleware::from_fn(access_log));
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(listen = %config.listen, "oauth-front listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Warns when the public URL the front is deployed at is not the issuer the database signs:
/// clients would reject every token.
async fn check_issuer(pool: &Pool, public_url: Option<&str>) {
    let issuer = async {
        let c = pool.get().await.ok()?;
        let row = c
            .query_one("SELECT current_setting('oauth_server.issuer', true)", &[])
            .await
            .ok()?;
        row.get::<_, Option<String>>(0)
    }
    .await;
    match (issuer, public_url) {
        (None, _) => tracing::warn!(
            "cannot read oauth_server.issuer yet (database down or extension missing)"
        ),
        (Some(i), Some(p)) if i.trim_end_matches('/') != p.trim_end_matches('/') => {
            tracing::warn!(issuer = %i, public_url = %p, "oauth_server.issuer differs from --public-url: clients will reject tokens")
        }
        (Some(i), _) => tracing::info!(issuer = %i, "issuer"),
    }
}

/// Refreshes trusted issuers' keys and sign-in providers' metadata now and then every `every`
/// seconds.
async fn refresh_timer(
    keys: Arc<issuer_keys::IssuerKeys>,
    providers: Arc<provider_metadata::ProviderMetadata>,
    every: u64,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    loop {
        tick.tick().await;
        keys.refresh_all().await;
        providers.refresh_all().await;
    }
}

/// Checks every replica's state every `every_ms` milliseconds.
async fn replica_checks(replicas: Arc<replicas::Replicas>, primary: Pool, every_ms: u64) {
    let mut tick = tokio::time::interval(Duration::from_millis(every_ms.max(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        replicas.check_all(&primary).await;
    }
}

async fn purge_timer(pool: Pool, every: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    loop {
        tick.tick().await;
        match sql::call(&pool, "oauth.purge_expired()", &[]).await {
            Ok(r) => tracing::info!(purged = %r.body, "purge_expired"),
            Err(e) => tracing::warn!(error = ?e, "purge_expired failed"),
        }
    }
}

/// One log line per request: the route pattern, never the query (codes, states) or the body.
async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    tracing::info!(
        %method,
        route,
        status = res.status().as_u16(),
        ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    res
}
